package dev.procurator.api.runtime;

import java.time.Duration;
import java.util.HashMap;
import java.util.Map;

/** Per-key exponential backoff: base, 2×base, 4×base … up to max; forgotten after a success. Thread-safe. */
public final class Backoff<K> {
  private final Duration base;
  private final Duration max;
  private final Map<K, Integer> failures = new HashMap<>();

  public Backoff(Duration base, Duration max) {
    this.base = base;
    this.max = max;
  }

  /** The delay before retrying {@code key} after one more failure. */
  public synchronized Duration next(K key) {
    int n = failures.merge(key, 1, Integer::sum) - 1;
    if (n >= 62) {
      return max;
    }
    long nanos = base.toNanos() << Math.min(n, 62);
    return nanos <= 0 || nanos > max.toNanos() ? max : Duration.ofNanos(nanos);
  }

  public synchronized int failures(K key) {
    return failures.getOrDefault(key, 0);
  }

  public synchronized void forget(K key) {
    failures.remove(key);
  }
}
