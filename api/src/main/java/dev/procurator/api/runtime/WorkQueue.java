package dev.procurator.api.runtime;

import java.time.Duration;
import java.util.ArrayDeque;
import java.util.HashSet;
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
  private final Scheduler scheduler;
  private boolean shutDown;

  public WorkQueue(Scheduler scheduler) {
    this.scheduler = scheduler;
  }

  public synchronized void add(K key) {
    if (shutDown || !dirty.add(key)) {
      return;
    }
    if (!processing.contains(key)) {
      queue.addLast(key);
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
    return Optional.of(key);
  }

  /** The worker finished {@code key}; if it was added meanwhile it is queued again now. */
  public synchronized void done(K key) {
    processing.remove(key);
    if (dirty.contains(key)) {
      queue.addLast(key);
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
