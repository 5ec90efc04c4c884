package dev.procurator.api.runtime;

import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.MicroTime;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.api.model.ObjectReference;
import io.fabric8.kubernetes.api.model.ObjectReferenceBuilder;
import io.fabric8.kubernetes.api.model.events.v1.Event;
import io.fabric8.kubernetes.api.model.events.v1.EventSeries;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Records {@code events.k8s.io/v1} Events about objects, as client-go's event recorder does, so
 * that {@code kubectl get events} and {@code describe} show what a loop did and why.
 *
 * <p>An event that repeats one already recorded for the same object within {@link #SERIES_WINDOW}
 * (same type, reason and note) is counted, not repeated: the existing Event's {@code series.count}
 * and {@code series.lastObservedTime} move. Each object may start at most {@link #BURST} new
 * Events at once, then one every {@link #REFILL}, so a loop that fails in a tight cycle cannot
 * flood the API. Writes happen in order on one background thread and never hold up the caller;
 * a write that fails is logged and dropped, as an Event is a report, not state.
 */
public final class EventRecorder implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(EventRecorder.class);
  public static final String NORMAL = "Normal";
  public static final String WARNING = "Warning";
  static final Duration SERIES_WINDOW = Duration.ofMinutes(10);
  static final int BURST = 25;
  static final Duration REFILL = Duration.ofSeconds(10);
  private static final int REMEMBERED = 4096;
  private static final int ATTEMPTS = 4;
  private static final Duration RETRY_BASE = Duration.ofMillis(200);
  private static final Duration RETRY_MAX = Duration.ofSeconds(2);
  private static final DateTimeFormatter MICRO = DateTimeFormatter.ofPattern("yyyy-MM-dd'T'HH:mm:ss.SSSSSS'Z'", Locale.ROOT).withZone(ZoneOffset.UTC);

  /** What makes two events the same for counting. */
  private record Key(String uid, String kind, String namespace, String name, String type, String reason, String note) {}

  /** The Event written for a key, and how often it has been seen. */
  private static final class Series {
    String eventName;
    String namespace;
    int count;
    Instant first;
    Instant last;
    boolean writePending;
  }

  /** A per-object token bucket. */
  private static final class Bucket {
    double tokens = BURST;
    Instant refilled;
  }

  private final KubernetesClient client;
  private final String controller;
  private final String instance;
  private final Clock clock;
  private final ExecutorService writer = Executors.newSingleThreadExecutor(Thread.ofVirtual().name("event-recorder").factory());
  private final Map<Key, Series> series = lru();
  private final Map<String, Bucket> buckets = lru();
  private final java.util.concurrent.atomic.AtomicLong lastNanos = new java.util.concurrent.atomic.AtomicLong();

  /**
   * @param controller the reporting controller, for example {@code procurator.dev/node-agent}
   * @param instance which replica of it reports, for example the node's or host's name
   */
  public EventRecorder(KubernetesClient client, String controller, String instance, Clock clock) {
    this.client = client;
    this.controller = controller;
    this.instance = instance;
    this.clock = clock;
  }

  private static <K, V> Map<K, V> lru() {
    return new LinkedHashMap<>(256, 0.75f, true) {
      @Override
      protected boolean removeEldestEntry(Map.Entry<K, V> eldest) {
        return size() > REMEMBERED;
      }
    };
  }

  /** A Normal event: something happened as it should. */
  public void normal(HasMetadata regarding, String reason, String note) {
    record(regarding, NORMAL, reason, note);
  }

  /** A Warning event: something went wrong, or may need someone's attention. */
  public void warning(HasMetadata regarding, String reason, String note) {
    record(regarding, WARNING, reason, note);
  }

  /** Records an event of {@code type} (Normal or Warning) about {@code regarding}. Never blocks, never throws. */
  public void record(HasMetadata regarding, String type, String reason, String note) {
    if (regarding == null || regarding.getMetadata() == null || regarding.getMetadata().getName() == null) {
      return;
    }
    ObjectReference ref = reference(regarding);
    String trimmed = note == null ? "" : note.length() > 1024 ? note.substring(0, 1021) + "..." : note;
    Key key = new Key(ref.getUid(), ref.getKind(), ref.getNamespace(), ref.getName(), type, reason, trimmed);
    Instant now = clock.instant();
    Series s;
    boolean create;
    synchronized (this) {
      s = series.get(key);
      if (s != null && Duration.between(s.last, now).compareTo(SERIES_WINDOW) < 0) {
        s.count++;
        s.last = now;
        if (s.writePending) {
          return; // the queued write carries the new count
        }
        create = false;
      } else {
        if (!allow(ref, now)) {
          return;
        }
        s = new Series();
        s.count = 1;
        s.first = now;
        s.last = now;
        s.namespace = ref.getNamespace() == null ? "default" : ref.getNamespace();
        s.eventName = eventName(ref, now);
        series.put(key, s);
        create = true;
      }
      s.writePending = true;
    }
    Series target = s;
    try {
      writer.execute(() -> write(ref, type, reason, trimmed, target, create));
    } catch (java.util.concurrent.RejectedExecutionException closed) {
      // the recorder is closed: the process is stopping
    }
  }

  private boolean allow(ObjectReference ref, Instant now) {
    String id = ref.getUid() != null ? ref.getUid() : ref.getKind() + "/" + ref.getNamespace() + "/" + ref.getName();
    Bucket b = buckets.computeIfAbsent(id, k -> new Bucket());
    if (b.refilled != null) {
      double add = Duration.between(b.refilled, now).toMillis() / (double) REFILL.toMillis();
      b.tokens = Math.min(BURST, b.tokens + add);
    }
    b.refilled = now;
    if (b.tokens < 1) {
      return false;
    }
    b.tokens -= 1;
    return true;
  }

  private void write(ObjectReference ref, String type, String reason, String note, Series s, boolean create) {
    int count;
    Instant first;
    Instant last;
    synchronized (this) {
      s.writePending = false;
      count = s.count;
      first = s.first;
      last = s.last;
    }
    var events = client.resources(Event.class).inNamespace(s.namespace);
    boolean creating = create;
    for (int attempt = 1; ; attempt++) {
      try {
        Event current = creating ? null : events.withName(s.eventName).get();
        if (current == null) {
          Event e = new Event();
          e.setMetadata(new ObjectMetaBuilder().withName(s.eventName).withNamespace(s.namespace).build());
          e.setRegarding(ref);
          e.setType(type);
          e.setReason(reason);
          e.setNote(note);
          e.setAction(reason);
          e.setReportingController(controller);
          e.setReportingInstance(instance);
          e.setEventTime(new MicroTime(MICRO.format(first)));
          if (count > 1) {
            e.setSeries(new EventSeries(count, new MicroTime(MICRO.format(last))));
          }
          events.resource(e).create();
        } else {
          current.setSeries(new EventSeries(count, new MicroTime(MICRO.format(last))));
          events.resource(current).update();
        }
        return;
      } catch (KubernetesClientException e) {
        boolean nameTaken = creating && e.getCode() == 409;
        boolean gone = !creating && e.getCode() == 404;
        boolean transient_ = e.getCode() == 0 || e.getCode() == 429 || e.getCode() >= 500 || (!creating && e.getCode() == 409);
        if (attempt >= ATTEMPTS || !(nameTaken || gone || transient_)) {
          log.warn("event {} {} about {}/{} not recorded: {}", type, reason, ref.getKind(), ref.getName(), e.getMessage());
          synchronized (this) {
            series.values().remove(s); // the next occurrence starts a new Event
          }
          return;
        }
        if (nameTaken || gone) {
          synchronized (this) {
            s.eventName = eventName(ref, clock.instant()); // another writer holds the name, or the Event expired
          }
          creating = true;
        }
        if (transient_ && !pause(attempt)) {
          return;
        }
      } catch (RuntimeException e) {
        log.warn("event {} {} about {}/{} not recorded: {}", type, reason, ref.getKind(), ref.getName(), e.toString());
        return;
      }
    }
  }

  private static boolean pause(int attempt) {
    try {
      Thread.sleep(Backoff.delay(RETRY_BASE, RETRY_MAX, attempt).toMillis()); // the writer's own thread, never a worker's
      return true;
    } catch (InterruptedException stop) {
      Thread.currentThread().interrupt();
      return false;
    }
  }

  /** Kubernetes' rule, the object's name and the time in nanoseconds, made unique within this process. */
  private String eventName(ObjectReference ref, Instant now) {
    long nanos = now.getEpochSecond() * 1_000_000_000L + now.getNano();
    long unique = lastNanos.updateAndGet(prev -> Math.max(prev + 1, nanos));
    return ref.getName() + "." + Long.toHexString(unique);
  }

  /** A reference to {@code o} as Events carry it. */
  public static ObjectReference reference(HasMetadata o) {
    return new ObjectReferenceBuilder().withApiVersion(o.getApiVersion()).withKind(o.getKind())
        .withNamespace(o.getMetadata().getNamespace()).withName(o.getMetadata().getName())
        .withUid(o.getMetadata().getUid()).withResourceVersion(o.getMetadata().getResourceVersion()).build();
  }

  /** Waits until what was recorded so far has been written (for tests and for an orderly stop). */
  public void flush(Duration timeout) throws InterruptedException {
    var done = new java.util.concurrent.CountDownLatch(1);
    try {
      writer.execute(done::countDown);
    } catch (java.util.concurrent.RejectedExecutionException closed) {
      return;
    }
    done.await(timeout.toMillis(), TimeUnit.MILLISECONDS);
  }

  @Override
  public void close() {
    writer.shutdown();
    try {
      writer.awaitTermination(5, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    writer.shutdownNow();
  }

  @Override
  public String toString() {
    return "EventRecorder[" + controller + "@" + Objects.requireNonNullElse(instance, "") + "]";
  }
}
