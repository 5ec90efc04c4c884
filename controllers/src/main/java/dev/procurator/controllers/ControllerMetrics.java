package dev.procurator.controllers;

import dev.procurator.api.runtime.LoopMetrics;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.BooleanSupplier;

/**
 * The loops' metrics in a Micrometer registry, under controller-runtime's and client-go's names:
 * {@code controller_runtime_reconcile_total{controller,result}},
 * {@code controller_runtime_reconcile_errors_total{controller}},
 * {@code controller_runtime_reconcile_time_seconds{controller}}, {@code workqueue_adds_total{name}},
 * {@code workqueue_depth{name}}, {@code workqueue_retries_total{name}},
 * {@code workqueue_queue_duration_seconds{name}}, {@code workqueue_work_duration_seconds{name}},
 * and {@code leader_election_master_status{name}} (1 while this replica leads). Meters are made on
 * first use and kept.
 */
public final class ControllerMetrics implements LoopMetrics {
  /** A subset of controller-runtime's reconcile and client-go's workqueue buckets, in seconds. */
  private static final Duration[] BUCKETS = seconds(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60);

  private final MeterRegistry registry;
  private final Map<String, Counter> reconciles = new ConcurrentHashMap<>();
  private final Map<String, Counter> errors = new ConcurrentHashMap<>();
  private final Map<String, Timer> reconcileTimes = new ConcurrentHashMap<>();
  private final Map<String, Counter> adds = new ConcurrentHashMap<>();
  private final Map<String, Counter> retries = new ConcurrentHashMap<>();
  private final Map<String, AtomicLong> depths = new ConcurrentHashMap<>();
  private final Map<String, Timer> waits = new ConcurrentHashMap<>();
  private final Map<String, Timer> works = new ConcurrentHashMap<>();

  public ControllerMetrics(MeterRegistry registry) {
    this.registry = registry;
  }

  private static Duration[] seconds(double... s) {
    Duration[] out = new Duration[s.length];
    for (int i = 0; i < s.length; i++) {
      out[i] = Duration.ofNanos((long) (s[i] * 1e9));
    }
    return out;
  }

  /** {@code leader_election_master_status{name}}: 1 while {@code leading} says so, else 0. */
  public void leader(String name, BooleanSupplier leading) {
    Gauge.builder("leader_election_master_status", leading, l -> l.getAsBoolean() ? 1 : 0)
        .description("Gauge of if the reporting system is master of the relevant lease, 0 indicates backup, 1 indicates master.")
        .tag("name", name).strongReference(true).register(registry);
  }

  @Override
  public void reconciled(String controller, String result, Duration took) {
    reconciles.computeIfAbsent(controller + '\0' + result, k -> Counter.builder("controller_runtime_reconcile")
        .description("Total number of reconciliations per controller").tags("controller", controller, "result", result)
        .register(registry)).increment();
    if (result.equals("error")) {
      errors.computeIfAbsent(controller, k -> Counter.builder("controller_runtime_reconcile_errors")
          .description("Total number of reconciliation errors per controller").tag("controller", controller).register(registry)).increment();
    }
    timer(reconcileTimes, "controller_runtime_reconcile_time", "controller", controller,
        "Length of time per reconciliation per controller").record(took);
  }

  @Override
  public void added(String queue) {
    adds.computeIfAbsent(queue, k -> Counter.builder("workqueue_adds").description("Total number of adds handled by workqueue")
        .tag("name", queue).register(registry)).increment();
  }

  @Override
  public void depth(String queue, int depth) {
    depths.computeIfAbsent(queue, k -> {
      AtomicLong n = new AtomicLong();
      Gauge.builder("workqueue_depth", n, AtomicLong::get).description("Current depth of workqueue").tag("name", queue)
          .strongReference(true).register(registry);
      return n;
    }).set(depth);
  }

  @Override
  public void retried(String queue) {
    retries.computeIfAbsent(queue, k -> Counter.builder("workqueue_retries").description("Total number of retries handled by workqueue")
        .tag("name", queue).register(registry)).increment();
  }

  @Override
  public void waited(String queue, Duration waited) {
    timer(waits, "workqueue_queue_duration", "name", queue, "How long in seconds an item stays in workqueue before being requested")
        .record(waited);
  }

  @Override
  public void worked(String queue, Duration worked) {
    timer(works, "workqueue_work_duration", "name", queue, "How long in seconds processing an item from workqueue takes").record(worked);
  }

  private Timer timer(Map<String, Timer> timers, String name, String tag, String value, String description) {
    return timers.computeIfAbsent(value, k -> Timer.builder(name).description(description).tag(tag, value)
        .serviceLevelObjectives(BUCKETS).register(registry));
  }
}
