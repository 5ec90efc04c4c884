package dev.procurator.api.runtime;

import io.fabric8.kubernetes.api.model.HasMetadata;

/**
 * A control loop as its author writes it: a pure {@link #decide} that table tests drive, and an
 * {@link #act} that carries out one of its actions. Everything else (watching, queueing, reading
 * the object from the cache, finalizers, the status write, Events, retries) is the {@link
 * Dispatcher}'s, wired by {@link LoopBuilder}.
 *
 * @param <P> the primary kind, whose key the loop's queue holds
 * @param <S> its status
 * @param <A> the loop's actions (usually a sealed interface of records)
 */
public interface Loop<P extends HasMetadata, S, A> {
  /**
   * What should happen to {@code primary}, from it and whatever caches the loop was given. Pure: no
   * writes, no calls over the network. It is also called for an object being deleted that still
   * holds the loop's finalizer; its decision then says {@link Decision#release()} once cleanup is done.
   */
  Decision<S, A> decide(P primary);

  /**
   * Carries out {@code action} for {@code primary} and returns the primary as it is afterwards (the
   * object itself when the action did not write it). A slow action starts its work elsewhere and
   * returns; whatever finishes it puts the key back on the loop's queue. A 409 from here requeues.
   */
  default P act(P primary, A action) throws Exception {
    throw new UnsupportedOperationException(getClass().getSimpleName() + " decided " + action + " but carries out no actions");
  }

  /** The object is gone: drop whatever the loop remembered about {@code key}. */
  default void forget(ObjectKey key) {}
}
