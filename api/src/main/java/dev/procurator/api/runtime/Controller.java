package dev.procurator.api.runtime;

import io.fabric8.kubernetes.client.KubernetesClientException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.slf4j.MDC;

/**
 * Workers that take keys from a {@link WorkQueue} and run a {@link Reconciler}: {@link
 * Result.Done} forgets the key's failures, {@link Result.RequeueAfter} looks again later, an
 * exception retries with per-key exponential backoff, a {@link TerminalException} gives up on
 * that key until it changes again. A write that lost an optimistic-concurrency race (HTTP 409
 * Conflict) is not an error: the key goes back on the queue and the next pass reads the newer
 * object, so no reconciler writes a retry loop of its own. Feed it with {@link #enqueue} from
 * informer events and from whatever else finishes (a process exit, a probe, a slow operation).
 */
public final class Controller<K> implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(Controller.class);

  private final String name;
  private final Reconciler<K> reconciler;
  private final WorkQueue<K> queue;
  private final Backoff<K> backoff;
  private final List<Thread> workers = new java.util.concurrent.CopyOnWriteArrayList<>();
  private final Scheduler scheduler;
  private final LoopMetrics metrics;

  /** A controller whose delayed requeues go through {@code scheduler}; closing the controller closes it. */
  public Controller(String name, Reconciler<K> reconciler, Scheduler scheduler, Backoff<K> backoff) {
    this(name, reconciler, scheduler, backoff, LoopMetrics.NONE);
  }

  /** A controller that reports its passes and its queue to {@code metrics}, under {@code name}. */
  public Controller(String name, Reconciler<K> reconciler, Scheduler scheduler, Backoff<K> backoff, LoopMetrics metrics) {
    this.name = name;
    this.reconciler = reconciler;
    this.scheduler = scheduler;
    this.metrics = metrics;
    this.queue = new WorkQueue<>(scheduler, name, metrics);
    this.backoff = backoff;
  }

  public Controller(String name, Reconciler<K> reconciler) {
    this(name, reconciler, Scheduler.system(), new Backoff<>(Duration.ofMillis(5), Duration.ofMinutes(5)));
  }

  public void enqueue(K key) {
    queue.add(key);
  }

  public WorkQueue<K> queue() {
    return queue;
  }

  /** The worker threads started so far (for tests of the shutdown). */
  List<Thread> workers() {
    return List.copyOf(workers);
  }

  /** Starts {@code count} workers on virtual threads. */
  public Controller<K> start(int count) {
    for (int i = 0; i < count; i++) {
      workers.add(Thread.ofVirtual().name(name + "-worker-" + i).start(this::work));
    }
    return this;
  }

  private void work() {
    try {
      while (true) {
        var next = queue.take();
        if (next.isEmpty()) {
          return;
        }
        K key = next.get();
        MDC.put("resource", String.valueOf(key));
        try {
          handle(key);
        } finally {
          MDC.remove("resource");
          queue.done(key);
        }
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  /** Runs the reconciler once for {@code key} and schedules what its outcome asks for. */
  void handle(K key) {
    long start = System.nanoTime();
    String result = "error";
    try {
      switch (reconciler.reconcile(key)) {
        case Result.Done d -> {
          backoff.forget(key);
          result = "success";
        }
        case Result.RequeueAfter r -> {
          backoff.forget(key);
          queue.addAfter(key, r.delay());
          result = r.delay().isZero() ? "requeue" : "requeue_after";
        }
      }
    } catch (KubernetesClientException e) {
      metrics.retried(name);
      Duration delay = backoff.next(key);
      if (e.getCode() == 409) {
        // someone wrote the object after it was read: look again at the newer one
        log.debug("{}: {} changed under a write, looking again in {}", name, key, delay);
      } else {
        log.info("{}: {} failed ({}), retrying in {}", name, key, e.getMessage(), delay);
      }
      queue.addAfter(key, delay);
    } catch (TerminalException e) {
      backoff.forget(key);
      log.warn("{}: giving up on {}: {}", name, key, e.getMessage());
    } catch (Exception e) {
      metrics.retried(name);
      Duration delay = backoff.next(key);
      log.info("{}: {} failed ({}), retrying in {}", name, key, e.toString(), delay);
      queue.addAfter(key, delay);
    } finally {
      Duration took = Duration.ofNanos(System.nanoTime() - start);
      metrics.reconciled(name, result, took);
      metrics.worked(name, took);
    }
  }

  @Override
  public void close() throws InterruptedException {
    queue.shutDown();
    scheduler.close();
    for (Thread t : workers) {
      t.join(10_000);
    }
  }
}
