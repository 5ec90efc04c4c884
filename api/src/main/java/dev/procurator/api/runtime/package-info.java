/**
 * The small runtime every controller and the node agent share, after client-go's workqueue and
 * java-operator-sdk: a {@link dev.procurator.api.runtime.WorkQueue} that holds each key once and
 * never hands the same key to two workers at a time, per-key exponential backoff, and a {@link
 * dev.procurator.api.runtime.Controller} whose {@link dev.procurator.api.runtime.Reconciler}
 * returns its outcome as a {@link dev.procurator.api.runtime.Result} value. Time comes from a
 * {@link dev.procurator.api.runtime.Scheduler} so tests move it by hand.
 */
package dev.procurator.api.runtime;
