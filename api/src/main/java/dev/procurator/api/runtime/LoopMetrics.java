package dev.procurator.api.runtime;

import java.time.Duration;

/**
 * Where a loop reports how it works, under controller-runtime's metric names so that dashboards
 * written for Kubernetes controllers read it unchanged. Every method has a do-nothing default; a
 * metrics registry implements the ones it exports. Calls come from worker and event threads and
 * must not block.
 */
public interface LoopMetrics {
  LoopMetrics NONE = new LoopMetrics() { };

  /**
   * A pass ended: {@code controller_runtime_reconcile_total{controller,result}} and
   * {@code controller_runtime_reconcile_time_seconds{controller}}; {@code result} is one of
   * {@code success}, {@code error}, {@code requeue}, {@code requeue_after} (and an error also counts
   * in {@code controller_runtime_reconcile_errors_total}).
   */
  default void reconciled(String controller, String result, Duration took) {}

  /** A key was added: {@code workqueue_adds_total{name}}. */
  default void added(String queue) {}

  /** The keys waiting now: {@code workqueue_depth{name}}. */
  default void depth(String queue, int depth) {}

  /** A key was put back after a failure: {@code workqueue_retries_total{name}}. */
  default void retried(String queue) {}

  /** How long a key waited before a worker took it: {@code workqueue_queue_duration_seconds{name}}. */
  default void waited(String queue, Duration waited) {}

  /** How long a worker held a key: {@code workqueue_work_duration_seconds{name}}. */
  default void worked(String queue, Duration worked) {}
}
