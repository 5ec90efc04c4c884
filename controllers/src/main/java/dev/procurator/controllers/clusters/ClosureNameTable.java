package dev.procurator.controllers.clusters;

import dev.procurator.api.nix.ClosureNames;
import java.io.IOException;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The binary cache's closure names as the controllers last read them, polled on a timer of its
 * own, so that a Cluster's pass reads a name from memory and never waits on the cache; when a
 * name moves, {@code onChange} runs, and the Clusters that boot by that name get a new revision.
 * Thread-safe.
 */
public final class ClosureNameTable implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(ClosureNameTable.class);

  /** What the table holds: the names, once read, and why the last read failed, if it did. */
  public record Snapshot(Optional<Map<String, String>> names, String problem) {
    /** A table read once, with these names. */
    public static Snapshot of(Map<String, String> names) {
      return new Snapshot(Optional.of(Map.copyOf(names)), null);
    }
  }

  private final ClosureNames cache;
  private final Duration every;
  private final AtomicReference<Snapshot> current = new AtomicReference<>(new Snapshot(Optional.empty(), null));
  private final ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor(
      Thread.ofPlatform().daemon().name("closure-names").factory());
  private volatile Runnable onChange = () -> { };

  public ClosureNameTable(ClosureNames cache, Duration every) {
    this.cache = cache;
    this.every = every;
  }

  /** Runs {@code r} (on the table's thread) whenever a poll finds the names changed. */
  public ClosureNameTable onChange(Runnable r) {
    this.onChange = r;
    return this;
  }

  /** Reads the names now and then every period. */
  public ClosureNameTable start() {
    timer.scheduleWithFixedDelay(this::poll, 0, every.toMillis(), TimeUnit.MILLISECONDS);
    return this;
  }

  public Snapshot snapshot() {
    return current.get();
  }

  /** One read of the cache's names. */
  void poll() {
    Snapshot before = current.get();
    Snapshot next;
    try {
      Map<String, String> names = new TreeMap<>();
      List<ClosureNames.Entry> entries = cache.list();
      entries.forEach(e -> names.put(e.name(), e.storePath()));
      next = Snapshot.of(names);
    } catch (IOException | RuntimeException e) {
      // the names last read stand while the cache cannot be asked
      next = new Snapshot(before.names(), e.getMessage());
      if (before.problem() == null) {
        log.warn("reading closure names from {}: {}", cache.base(), e.getMessage());
      }
    }
    current.set(next);
    if (!next.names().equals(before.names())) {
      try {
        onChange.run();
      } catch (RuntimeException e) {
        log.warn("closure names changed, and telling the Clusters failed: {}", e.toString());
      }
    }
  }

  @Override
  public void close() {
    timer.shutdownNow();
  }
}
