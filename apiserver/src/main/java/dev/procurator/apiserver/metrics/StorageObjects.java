package dev.procurator.apiserver.metrics;

import dev.procurator.apiserver.storage.Storage;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code apiserver_storage_objects{resource}}: how many objects of each resource are stored, counted
 * by the store (keys only, no values read) once a minute, as kube-apiserver polls etcd; a scrape
 * reads the last count and never touches storage.
 */
public final class StorageObjects {
  private static final Logger log = LoggerFactory.getLogger(StorageObjects.class);
  /** How often the counts are taken, as kube-apiserver's --etcd-count-metric-poll-period default. */
  public static final long PERIOD_SECONDS = 60;

  private final Storage storage;
  /** Key prefix → resource name. */
  private final Map<String, String> resources;
  private final Map<String, AtomicLong> counts = new ConcurrentHashMap<>();

  public StorageObjects(Storage storage, MeterRegistry registry, Map<String, String> resources) {
    this.storage = storage;
    this.resources = Map.copyOf(resources);
    resources.forEach((prefix, resource) -> {
      AtomicLong holder = new AtomicLong(-1);
      counts.put(prefix, holder);
      Gauge.builder("apiserver_storage_objects", holder, AtomicLong::get)
          .description("Number of stored objects at the time of last check split by kind. -1 means the count has not been taken yet.")
          .tag("resource", resource).strongReference(true).register(registry);
    });
  }

  /** Counts now, then every {@link #PERIOD_SECONDS} on {@code scheduler}. */
  public StorageObjects start(ScheduledExecutorService scheduler) {
    scheduler.scheduleWithFixedDelay(this::refresh, 0, PERIOD_SECONDS, TimeUnit.SECONDS);
    return this;
  }

  /** Takes every count once. */
  public void refresh() {
    resources.keySet().forEach(prefix -> {
      try {
        counts.get(prefix).set(storage.count(prefix));
      } catch (RuntimeException e) {
        log.debug("counting {} failed: {}", prefix, e.toString());
      }
    });
  }
}
