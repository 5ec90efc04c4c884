package dev.procurator.api.runtime;

import java.util.List;

/**
 * How a {@link Dispatcher} reads and writes a loop's primary kind: from the informer's cache and
 * the API server in production ({@link KubePrimaries}), from a map in unit tests. A write is given
 * the pass's own {@linkplain #copy copy} of the object, which it may change; every write carries
 * the resourceVersion of the object it is given, so a write computed from a stale read
 * fails with 409 and the key is looked at again.
 */
public interface Primaries<P, S> {
  /** The object as the cache shows it, or null when the cache holds none. */
  P cached(ObjectKey key);

  /** The object as the API server has it now, or null when it does not exist. */
  P fetch(ObjectKey key) throws Exception;

  /** A copy of {@code object} that a pass may change without touching the cache. */
  P copy(P object);

  S status(P object);

  /** Writes {@code status} as the object's status; returns the object as written. */
  P writeStatus(P object, S status) throws Exception;

  /** Writes {@code finalizers} as the object's finalizers; returns the object as written. */
  P writeFinalizers(P object, List<String> finalizers) throws Exception;
}
