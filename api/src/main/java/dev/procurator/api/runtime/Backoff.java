package dev.procurator.api.runtime;

import java.time.Duration;
import java.util.HashMap;
import java.util.Map;

/**
 * Exponential backoff: base, 2×base, 4×base … up to max. {@link #delay} is the rule as a pure
 * function of the number of failures (for state kept elsewhere, such as a VM's status); an
 * instance counts failures per key in memory, forgotten after a success. Thread-safe.
 */
public final class Backoff<K> {
  private final Duration base;
  private final Duration max;
  private final Map<K, Integer> failures = new HashMap<>();

  public Backoff(Duration base, Duration max) {
    this.base = base;
    this.max = max;
  }

  /** The delay after the {@code failures}-th failure in a row (1 gives {@code base}); never above {@code max}. */
  public static Duration delay(Duration base, Duration max, int failures) {
    int n = Math.max(0, failures - 1);
    if (n >= 62) {
      return max;
    }
    long nanos = base.toNanos() << n;
    return nanos <= 0 || (nanos >> n) != base.toNanos() || nanos > max.toNanos() ? max : Duration.ofNanos(nanos);
  }

  /** The delay before retrying {@code key} after one more failure. */
  public synchronized Duration next(K key) {
    return delay(base, max, failures.merge(key, 1, Integer::sum));
  }

  public synchronized int failures(K key) {
    return failures.getOrDefault(key, 0);
  }

  public synchronized void forget(K key) {
    failures.remove(key);
  }
}
