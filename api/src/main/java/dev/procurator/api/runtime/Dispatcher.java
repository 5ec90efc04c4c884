package dev.procurator.api.runtime;

import io.fabric8.kubernetes.api.model.HasMetadata;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Runs one pass of a {@link Loop} for a key, the same way for every loop (after java-operator-sdk's
 * ReconciliationDispatcher):
 * <ol>
 *   <li>reads the primary from the cache, or from the API while the cache does not yet show this
 *       loop's own last write of it (so a pass never decides from an object older than one it wrote);
 *   <li>adds the loop's finalizer to a live object that lacks it; an object being deleted that no
 *       longer holds it is left alone;
 *   <li>calls the pure {@link Loop#decide};
 *   <li>writes the decided status, once and only when it differs;
 *   <li>carries out the decision's actions through {@link Loop#act} (before the status, when the
 *       decision says {@linkplain Decision#statusLast so});
 *   <li>removes the finalizer when the decision {@linkplain Decision#release() releases} a deleted object;
 *   <li>records the decision's Events, and asks to be requeued as it said.
 * </ol>
 * A write that lost a race (409) or failed propagates, and the {@link Controller} requeues the key.
 */
public final class Dispatcher<P extends HasMetadata, S, A> implements Reconciler<ObjectKey> {
  /** Where a pass's Events go: an {@link EventRecorder} in production. */
  @FunctionalInterface
  public interface Events {
    void record(HasMetadata regarding, EventSpec event);

    static Events of(EventRecorder recorder) {
      return (regarding, e) -> recorder.record(regarding, e.type(), e.reason(), e.note());
    }

    Events NONE = (regarding, e) -> { };
  }

  /** A write whose outcome is unknown: read the object from the API until one read shows it. */
  private static final long UNKNOWN = Long.MAX_VALUE;

  private final Loop<P, S, A> loop;
  private final Primaries<P, S> primaries;
  private final String finalizer;
  private final Events events;
  /** The resourceVersion of this loop's last write of each object that the cache may not show yet. */
  private final Map<ObjectKey, Long> written = new ConcurrentHashMap<>();

  /**
   * @param finalizer the finalizer the loop holds on its objects, or null when it holds none
   */
  public Dispatcher(Loop<P, S, A> loop, Primaries<P, S> primaries, String finalizer, Events events) {
    this.loop = Objects.requireNonNull(loop);
    this.primaries = Objects.requireNonNull(primaries);
    this.finalizer = finalizer;
    this.events = Objects.requireNonNull(events);
  }

  @Override
  public Result reconcile(ObjectKey key) throws Exception {
    P object = read(key);
    if (object == null) {
      written.remove(key);
      loop.forget(key);
      return Result.done();
    }
    object = primaries.copy(object);
    boolean deleting = Finalizers.deleting(object);
    if (finalizer != null) {
      boolean held = Finalizers.has(object, finalizer);
      if (deleting && !held) {
        return Result.done(); // its cleanup is done, or was never this loop's to do
      }
      if (!held) {
        P current = object;
        object = write(key, () -> primaries.writeFinalizers(current, Finalizers.with(current, finalizer)), null);
      }
    }
    Decision<S, A> d = loop.decide(object);
    if (!d.statusLast()) {
      object = writeStatus(key, object, d.status());
    }
    for (A action : d.actions()) {
      P current = object;
      P after = write(key, () -> loop.act(current, action), current);
      if (after != null) {
        object = after;
      }
    }
    if (d.statusLast()) {
      object = writeStatus(key, object, d.status());
    }
    if (deleting && d.released() && finalizer != null) {
      P current = object;
      object = write(key, () -> primaries.writeFinalizers(current, Finalizers.without(current, finalizer)), null);
    }
    for (EventSpec e : d.events()) {
      events.record(object, e);
    }
    return d.requeueAfter() == null ? Result.done() : Result.requeueAfter(d.requeueAfter());
  }

  private P writeStatus(ObjectKey key, P object, S status) throws Exception {
    if (status == null || Objects.equals(primaries.status(object), status)) {
      return object;
    }
    return write(key, () -> primaries.writeStatus(object, status), null);
  }

  /** Whether the last read of {@code key} came from the API because the cache was behind (for tests). */
  boolean waitingForCache(ObjectKey key) {
    return written.containsKey(key);
  }

  /**
   * The object from the cache, unless this loop wrote it since the cache last showed it: then from
   * the API, which always shows the write.
   */
  private P read(ObjectKey key) throws Exception {
    P cached = primaries.cached(key);
    Long mine = written.get(key);
    if (mine == null) {
      return cached;
    }
    if (cached != null && mine != UNKNOWN && version(cached) >= mine) {
      written.remove(key, mine);
      return cached;
    }
    P fresh = primaries.fetch(key);
    if (fresh == null) {
      written.remove(key);
    } else {
      written.put(key, version(fresh));
    }
    return fresh;
  }

  /** A write in a pass: remembers the version it produced, or that its outcome is unknown when it failed. */
  private P write(ObjectKey key, Write<P> call, P unchanged) throws Exception {
    P result;
    try {
      result = call.run();
    } catch (Exception e) {
      if (!NotFound.is(e)) {
        written.put(key, UNKNOWN);
      }
      throw e;
    }
    if (result != null && result != unchanged) {
      long v = version(result);
      written.merge(key, v < 0 ? UNKNOWN : v, (a, b) -> a == UNKNOWN || b == UNKNOWN ? UNKNOWN : Math.max(a, b));
    }
    return result;
  }

  @FunctionalInterface
  private interface Write<T> {
    T run() throws Exception;
  }

  private static long version(HasMetadata o) {
    try {
      String rv = o.getMetadata().getResourceVersion();
      return rv == null ? -1 : Long.parseLong(rv);
    } catch (NumberFormatException e) {
      return -1;
    }
  }
}
