package dev.procurator.api.runtime;

/**
 * Moves one object one step toward its spec. Level-triggered: it reads the object and the world
 * itself and never trusts which event brought the key. Called by one worker at a time per key.
 */
@FunctionalInterface
public interface Reconciler<K> {
  Result reconcile(K key) throws Exception;
}
