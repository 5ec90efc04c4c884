package dev.procurator.apiserver.metrics;

import dev.procurator.apiserver.storage.KeyValue;
import dev.procurator.apiserver.storage.ListPage;
import dev.procurator.apiserver.storage.Storage;
import dev.procurator.apiserver.storage.WatchListener;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import java.time.Duration;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReferenceArray;

/**
 * A store that times every request it passes on, as kube-apiserver's
 * {@code etcd_request_duration_seconds{operation,type}}: {@code operation} is create, get, list,
 * update, delete, count or compact, {@code type} the resource a key belongs to
 * ({@code vms.procurator.dev}). The same for the embedded store and etcd. Watches are not timed
 * (they last). Timers are made once per operation and resource, on first use.
 */
public final class MeteredStorage implements Storage {
  /** kube-apiserver's buckets for storage latency, in seconds, less the finest and the longest. */
  static final Duration[] BUCKETS = seconds(0.005, 0.025, 0.05, 0.1, 0.2, 0.4, 0.6, 0.8, 1.0, 1.5, 2, 3, 5, 10, 15, 30, 60);
  private static final String[] OPERATIONS = {"create", "get", "list", "update", "delete", "count", "compact"};
  private static final int CREATE = 0;
  private static final int GET = 1;
  private static final int LIST = 2;
  private static final int UPDATE = 3;
  private static final int DELETE = 4;
  private static final int COUNT = 5;
  private static final int COMPACT = 6;

  private final Storage delegate;
  private final MeterRegistry registry;
  /** Key prefixes, longest first, and the resource each names; the last entry ("") catches the rest. */
  private final String[] prefixes;
  private final String[] types;
  private final AtomicReferenceArray<Timer> timers;

  /** @param resources every resource's key prefix and its name ({@code vms.procurator.dev}) */
  public MeteredStorage(Storage delegate, MeterRegistry registry, Map<String, String> resources) {
    this.delegate = delegate;
    this.registry = registry;
    List<Map.Entry<String, String>> sorted = resources.entrySet().stream()
        .sorted(Comparator.comparingInt((Map.Entry<String, String> e) -> e.getKey().length()).reversed()).toList();
    prefixes = new String[sorted.size() + 1];
    types = new String[sorted.size() + 1];
    for (int i = 0; i < sorted.size(); i++) {
      prefixes[i] = sorted.get(i).getKey();
      types[i] = sorted.get(i).getValue();
    }
    prefixes[sorted.size()] = "";
    types[sorted.size()] = "other";
    timers = new AtomicReferenceArray<>(types.length * OPERATIONS.length);
  }

  static Duration[] seconds(double... s) {
    Duration[] out = new Duration[s.length];
    for (int i = 0; i < s.length; i++) {
      out[i] = Duration.ofNanos((long) (s[i] * 1e9));
    }
    return out;
  }

  private int typeOf(String key) {
    for (int i = 0; i < prefixes.length; i++) {
      if (key.startsWith(prefixes[i])) {
        return i;
      }
    }
    return prefixes.length - 1;
  }

  private Timer timer(int operation, String key) {
    int type = typeOf(key);
    int slot = type * OPERATIONS.length + operation;
    Timer t = timers.get(slot);
    if (t == null) {
      t = Timer.builder("etcd_request_duration").description("Etcd request latency in seconds for each operation and object type.")
          .tags("operation", OPERATIONS[operation], "type", types[type]).serviceLevelObjectives(BUCKETS).register(registry);
      timers.set(slot, t);
    }
    return t;
  }

  private void record(int operation, String key, long started) {
    timer(operation, key).record(System.nanoTime() - started, TimeUnit.NANOSECONDS);
  }

  @Override
  public CompletableFuture<Long> createAsync(String key, byte[] value) {
    long started = System.nanoTime();
    CompletableFuture<Long> f = delegate.createAsync(key, value);
    f.whenComplete((v, e) -> record(CREATE, key, started));
    return f;
  }

  @Override
  public Optional<KeyValue> get(String key) {
    long started = System.nanoTime();
    try {
      return delegate.get(key);
    } finally {
      record(GET, key, started);
    }
  }

  @Override
  public ListPage list(String prefix, String startKey, long revision, int limit) {
    long started = System.nanoTime();
    try {
      return delegate.list(prefix, startKey, revision, limit);
    } finally {
      record(LIST, prefix, started);
    }
  }

  @Override
  public long count(String prefix) {
    long started = System.nanoTime();
    try {
      return delegate.count(prefix);
    } finally {
      record(COUNT, prefix, started);
    }
  }

  @Override
  public CompletableFuture<Long> updateAsync(String key, long expectedModRevision, byte[] value) {
    long started = System.nanoTime();
    CompletableFuture<Long> f = delegate.updateAsync(key, expectedModRevision, value);
    f.whenComplete((v, e) -> record(UPDATE, key, started));
    return f;
  }

  @Override
  public long delete(String key, long expectedModRevision) {
    long started = System.nanoTime();
    try {
      return delegate.delete(key, expectedModRevision);
    } finally {
      record(DELETE, key, started);
    }
  }

  @Override
  public Watch watch(String prefix, long afterRevision, WatchListener listener) {
    return delegate.watch(prefix, afterRevision, listener);
  }

  @Override
  public Watch follow(String prefix, long afterRevision, WatchListener listener) {
    return delegate.follow(prefix, afterRevision, listener);
  }

  @Override
  public long currentRevision() {
    return delegate.currentRevision();
  }

  @Override
  public void compact(long revision) {
    long started = System.nanoTime();
    try {
      delegate.compact(revision);
    } finally {
      record(COMPACT, "", started);
    }
  }

  @Override
  public void close() {
    delegate.close();
  }
}
