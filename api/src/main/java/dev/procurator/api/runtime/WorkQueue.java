package dev.procurator.api.runtime;

import java.time.Duration;
import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * Keys waiting to be reconciled, after client-go's workqueue: a key is queued at most once (the
 * dirty set), and a key being processed is never handed out again until {@link #done} — if it is
 * added meanwhile, it is queued again when the worker finishes. Thread-safe.
 */
public final class WorkQueue<K> {
  private final ArrayDeque<K> queue = new ArrayDeque<>();
  private final Set<K> dirty = new HashSet<>();
  private final Set<K> processing = new HashSet<>();
  /** When each queued key was added, for {@link LoopMetrics#waited}. */
  private final Map<K, Long> addedAt = new HashMap<>();
  private final Scheduler scheduler;
  private final String name;
  private final LoopMetrics metrics;
  private boolean shutDown;

  public WorkQueue(Scheduler scheduler) {
    this(scheduler, "queue", LoopMetrics.NONE);
  }

  /** A queue that reports its adds, depth and waits to {@code metrics} under {@code name}. */
  public WorkQueue(Scheduler scheduler, String name, LoopMetrics metrics) {
    this.scheduler = scheduler;
    this.name = name;
    this.metrics = metrics;
  }

  public synchronized void add(K key) {
    if (shutDown || !dirty.add(key)) {
      return;
    }
    metrics.added(name);
    addedAt.putIfAbsent(key, System.nanoTime());
    if (!processing.contains(key)) {
      queue.addLast(key);
      metrics.depth(name, queue.size());
      notifyAll();
    }
  }

  /** Adds {@code key} once {@code delay} has passed. */
  public void addAfter(K key, Duration delay) {
    if (delay.isZero() || delay.isNegative()) {
      add(key);
    } else {
      scheduler.schedule(delay, () -> add(key));
    }
  }

  /** The next key, waiting for one; empty once the queue is shut down and drained. */
  public synchronized Optional<K> take() throws InterruptedException {
    while (queue.isEmpty() && !shutDown) {
      wait();
    }
    if (queue.isEmpty()) {
      return Optional.empty();
    }
    K key = queue.removeFirst();
    processing.add(key);
    dirty.remove(key);
    Long at = addedAt.remove(key);
    metrics.depth(name, queue.size());
    if (at != null) {
      metrics.waited(name, Duration.ofNanos(System.nanoTime() - at));
    }
    return Optional.of(key);
  }

  /** The worker finished {@code key}; if it was added meanwhile it is queued again now. */
  public synchronized void done(K key) {
    processing.remove(key);
    if (dirty.contains(key)) {
      queue.addLast(key);
      metrics.depth(name, queue.size());
      notifyAll();
    }
  }

  public synchronized int length() {
    return queue.size();
  }

  public synchronized void shutDown() {
    shutDown = true;
    notifyAll();
  }
}
