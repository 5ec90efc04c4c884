/**
 * The runtime every control loop shares, after controller-runtime and java-operator-sdk.
 *
 * <p>A loop is a {@link dev.procurator.api.runtime.Loop}: a pure {@code decide} from the primary
 * object (and the caches it was given) to a {@link dev.procurator.api.runtime.Decision} of status,
 * actions, {@link dev.procurator.api.runtime.EventSpec Events} and requeue, plus an {@code act} that
 * carries out one action. {@link dev.procurator.api.runtime.LoopBuilder} declares what it watches
 * (primary kind, owned kinds, other kinds mapped to keys, which updates matter, its finalizer) over
 * process-wide {@link dev.procurator.api.runtime.Informers}, waits for every cache to sync and
 * starts workers. The {@link dev.procurator.api.runtime.Dispatcher} runs each pass the same way:
 * read from the cache (from the API while the cache does not show the loop's own last write),
 * finalizer, decide, status once and only on change, actions, Events.
 *
 * <p>Underneath: a {@link dev.procurator.api.runtime.WorkQueue} that holds each key once and never
 * hands the same key to two workers at a time, per-key exponential {@link
 * dev.procurator.api.runtime.Backoff}, and a {@link dev.procurator.api.runtime.Controller} whose
 * {@link dev.procurator.api.runtime.Reconciler} returns a {@link dev.procurator.api.runtime.Result}
 * (a 409 requeues). Both report to {@link dev.procurator.api.runtime.LoopMetrics} under
 * controller-runtime's metric names. Time comes from a {@link dev.procurator.api.runtime.Scheduler}
 * so tests move it by hand.
 */
package dev.procurator.api.runtime;
