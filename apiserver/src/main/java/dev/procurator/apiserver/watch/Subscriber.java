package dev.procurator.apiserver.watch;

/** A client watch fed by a {@link WatchCache}. Calls must not block. */
public interface Subscriber {
  /** Only keys with this prefix are offered. */
  String keyPrefix();

  /**
   * Takes one event, in revision order (an event at or below a revision already taken must be
   * ignored). Returns false when the subscriber cannot keep up; it is then dropped.
   */
  boolean offer(CachedEvent event);

  /** A progress mark: nothing under the prefix changed up to {@code revision}. */
  void bookmark(long revision);

  /** The watch ends with this reason (410 Gone for a client that must relist). */
  void terminate(dev.procurator.apiserver.registry.ApiException reason);
}
