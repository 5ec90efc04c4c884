package dev.procurator.apiserver.rest;

import dev.procurator.apiserver.resource.ResourceType;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.Timer;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.ext.web.RoutingContext;
import java.time.Duration;
import java.util.Collection;
import java.util.IdentityHashMap;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReferenceArray;

/**
 * kube-apiserver's request metrics: {@code apiserver_request_total{verb,group,version,resource,
 * subresource,scope,component,code}}, {@code apiserver_request_duration_seconds} (the same labels
 * but the code) and {@code apiserver_longrunning_requests} (open watches). Verbs are named as
 * kube-apiserver names them: get, list, WATCH, create, update, patch, delete, deletecollection; a
 * request for no resource (discovery, {@code /healthz}, {@code /metrics}, or a path naming no
 * resource this server serves) has its HTTP method as its verb and empty resource labels.
 *
 * <p>Every request is timed once, from the first handler until its response ends. The meters for a
 * resource, verb and scope are made on first use and kept in arrays, so the request path does a few
 * array reads and no allocation for labels.
 */
final class RequestMetrics {
  /** The resource a request named, put on the routing context once it is resolved. */
  static final String TARGET = "metrics.target";

  /** A subset of kube-apiserver's request latency buckets, in seconds. */
  private static final Duration[] BUCKETS = seconds(0.005, 0.025, 0.05, 0.1, 0.2, 0.4, 0.6, 0.8, 1.0, 1.5, 2, 3, 5, 10, 20, 30, 60);
  private static final String[] VERBS = {"get", "list", "WATCH", "create", "update", "patch", "delete", "deletecollection"};
  private static final int GET = 0;
  private static final int LIST = 1;
  private static final int WATCH = 2;
  private static final int CREATE = 3;
  private static final int UPDATE = 4;
  private static final int PATCH = 5;
  private static final int DELETE = 6;
  private static final int DELETECOLLECTION = 7;
  private static final String[] SCOPES = {"resource", "namespace", "cluster"};
  private static final String[] SUBRESOURCES = {"", "status", "log"};

  private final MeterRegistry registry;
  /** Written once at construction and only read after: every type the server serves. */
  private final Map<ResourceType, TypeMeters> types = new IdentityHashMap<>();
  private final Map<ResourceType, TypeMeters> others = new ConcurrentHashMap<>();
  private final Map<HttpMethod, Slot> nonResource = new ConcurrentHashMap<>();

  RequestMetrics(MeterRegistry registry, Collection<ResourceType> served) {
    this.registry = registry;
    for (ResourceType t : served) {
      types.put(t, new TypeMeters(t));
    }
  }

  private static Duration[] seconds(double... s) {
    Duration[] out = new Duration[s.length];
    for (int i = 0; i < s.length; i++) {
      out[i] = Duration.ofNanos((long) (s[i] * 1e9));
    }
    return out;
  }

  /** Times {@code ctx} from now until its response ends (or the connection goes). */
  void measure(RoutingContext ctx) {
    long started = System.nanoTime();
    ctx.addEndHandler(v -> record(ctx, started));
  }

  private void record(RoutingContext ctx, long started) {
    HttpServerRequest req = ctx.request();
    Target t = ctx.get(TARGET);
    Slot s = t == null ? nonResource(req.method()) : slot(t, req);
    s.timer.record(System.nanoTime() - started, TimeUnit.NANOSECONDS);
    s.counter(ctx.response().getStatusCode()).increment();
  }

  private TypeMeters meters(ResourceType type) {
    TypeMeters m = types.get(type);
    return m != null ? m : others.computeIfAbsent(type, TypeMeters::new);
  }

  private Slot slot(Target t, HttpServerRequest req) {
    HttpMethod m = req.method();
    int verb;
    if (m == HttpMethod.GET || m == HttpMethod.HEAD) {
      verb = t.name() == null ? (WatchEndpoint.asked(req) ? WATCH : LIST) : (WatchEndpoint.asked(req) ? WATCH : GET);
    } else if (m == HttpMethod.POST) {
      verb = CREATE;
    } else if (m == HttpMethod.PUT) {
      verb = UPDATE;
    } else if (m == HttpMethod.PATCH) {
      verb = PATCH;
    } else if (m == HttpMethod.DELETE) {
      verb = t.name() == null ? DELETECOLLECTION : DELETE;
    } else {
      return nonResource(m);
    }
    return meters(t.type()).slot(subresource(t.subresource()), verb, scope(t));
  }

  private static int scope(Target t) {
    return t.name() != null ? 0 : t.namespace() != null ? 1 : 2;
  }

  private static int subresource(String sub) {
    return sub == null ? 0 : sub.equals("status") ? 1 : 2;
  }

  private Slot nonResource(HttpMethod m) {
    Slot s = nonResource.get(m);
    return s != null ? s : nonResource.computeIfAbsent(m, x -> new Slot(Tags.of("verb", x.name(), "group", "", "version", "",
        "resource", "", "subresource", "", "scope", "", "component", "apiserver")));
  }

  /** Counts a watch of {@code t} as open until the returned action runs (once; later runs do nothing). */
  Runnable watchOpened(Target t) {
    AtomicLong open = meters(t.type()).watches(scope(t));
    open.incrementAndGet();
    AtomicBoolean ended = new AtomicBoolean();
    return () -> {
      if (ended.compareAndSet(false, true)) {
        open.decrementAndGet();
      }
    };
  }

  /** One resource's meters, by subresource, verb and scope, each made on first use. */
  private final class TypeMeters {
    private final ResourceType type;
    private final AtomicReferenceArray<Slot> slots = new AtomicReferenceArray<>(SUBRESOURCES.length * VERBS.length * SCOPES.length);
    private final AtomicReferenceArray<AtomicLong> watches = new AtomicReferenceArray<>(SCOPES.length);

    TypeMeters(ResourceType type) {
      this.type = type;
    }

    Slot slot(int sub, int verb, int scope) {
      int i = (sub * VERBS.length + verb) * SCOPES.length + scope;
      Slot s = slots.get(i);
      if (s == null) {
        s = new Slot(Tags.of("verb", VERBS[verb], "group", type.group(), "version", type.version(), "resource", type.plural(),
            "subresource", SUBRESOURCES[sub], "scope", SCOPES[scope], "component", "apiserver"));
        if (!slots.compareAndSet(i, null, s)) {
          s = slots.get(i);
        }
      }
      return s;
    }

    AtomicLong watches(int scope) {
      AtomicLong n = watches.get(scope);
      if (n == null) {
        AtomicLong made = new AtomicLong();
        if (watches.compareAndSet(scope, null, made)) {
          Gauge.builder("apiserver_longrunning_requests", made, AtomicLong::get)
              .description("Gauge of all active long-running apiserver requests broken out by verb, group, version, resource, scope and component.")
              .tags("verb", "WATCH", "group", type.group(), "version", type.version(), "resource", type.plural(), "subresource", "",
                  "scope", SCOPES[scope], "component", "apiserver")
              .strongReference(true).register(registry);
        }
        n = watches.get(scope);
      }
      return n;
    }
  }

  /** The meters of one verb on one resource in one scope: its latency, and its count per response code. */
  private final class Slot {
    private final Tags tags;
    private final Timer timer;
    private final AtomicReferenceArray<Counter> codes = new AtomicReferenceArray<>(600);

    Slot(Tags tags) {
      this.tags = tags;
      this.timer = Timer.builder("apiserver_request_duration")
          .description("Response latency distribution in seconds for each verb, dry run value, group, version, resource, subresource, scope and component.")
          .tags(tags).serviceLevelObjectives(BUCKETS).register(registry);
    }

    Counter counter(int code) {
      int i = code > 0 && code < 600 ? code : 0;
      Counter c = codes.get(i);
      if (c == null) {
        // registering the same name and tags again returns the meter already there
        c = Counter.builder("apiserver_request").description("Counter of apiserver requests broken out for each verb, dry run value,"
            + " group, version, resource, scope, component, and HTTP response code.").tags(tags).tag("code", Integer.toString(code))
            .register(registry);
        codes.set(i, c);
      }
      return c;
    }
  }
}
