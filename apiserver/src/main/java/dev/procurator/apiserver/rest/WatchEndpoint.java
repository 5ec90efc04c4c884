package dev.procurator.apiserver.rest;

import dev.procurator.apiserver.auth.NodeIdentities;
import dev.procurator.apiserver.registry.ApiException;
import dev.procurator.apiserver.registry.FieldSelector;
import dev.procurator.apiserver.registry.Json;
import dev.procurator.apiserver.registry.LabelSelector;
import dev.procurator.apiserver.registry.ListOptions;
import dev.procurator.apiserver.registry.ListResult;
import dev.procurator.apiserver.registry.ResourceService;
import dev.procurator.apiserver.resource.ResourceType;
import dev.procurator.apiserver.watch.CachedEvent;
import dev.procurator.apiserver.watch.WatchCache;
import io.vertx.core.Context;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.ext.web.RoutingContext;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.ThreadLocalRandom;
import java.util.function.BiConsumer;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Sets up watches, over a plain chunked response or a WebSocket upgrade: checks what the request
 * asks for before anything is sent, lists first when it names no resourceVersion, subscribes an
 * {@link HttpWatch} to the type's {@link WatchCache}, and arranges that the stream ends at its
 * timeout, when the client goes, and when the node that opened it is revoked.
 *
 * <p>Subscribing runs on the executor; the stream is written on the request's context.
 */
final class WatchEndpoint {
  // under the name the server has always logged request failures with
  private static final Logger log = LoggerFactory.getLogger(HttpApi.class);

  private final Vertx vertx;
  private final ResourceService service;
  private final Map<ResourceType, WatchCache> caches;
  private final ExecutorService executor;
  private final Reads reads;
  private final int watchQueueLimit;
  private final Function<RequestTarget, Target> resolve;
  private final BiConsumer<RoutingContext, Target> authorize;
  private volatile NodeIdentities nodeIdentities;
  private volatile RequestMetrics metrics;

  /**
   * @param resolve the resource a path names, or an ApiException
   * @param authorize refuses with an ApiException what the caller may not do
   */
  WatchEndpoint(Vertx vertx, ResourceService service, Map<ResourceType, WatchCache> caches, ExecutorService executor, Reads reads,
      int watchQueueLimit, Function<RequestTarget, Target> resolve, BiConsumer<RoutingContext, Target> authorize) {
    this.vertx = vertx;
    this.service = service;
    this.caches = caches;
    this.executor = executor;
    this.reads = reads;
    this.watchQueueLimit = watchQueueLimit;
    this.resolve = resolve;
    this.authorize = authorize;
  }

  /** Ends the watches a node opens when {@code nodes} revokes it (null: nodes open none). */
  void withNodeIdentities(NodeIdentities nodes) {
    this.nodeIdentities = nodes;
  }

  /** Counts open watches in {@code m}. */
  void withMetrics(RequestMetrics m) {
    this.metrics = m;
  }

  /** Whether the request asks for a watch ({@code watch=true} or {@code watch=1}). */
  static boolean asked(HttpServerRequest req) {
    return "true".equals(req.getParam("watch")) || "1".equals(req.getParam("watch"));
  }

  /** What a watch request asks for, checked before anything is streamed. */
  private record WatchRequest(Target target, LabelSelector labels, FieldSelector fields, boolean fromNow, long after,
      TableConverter table, String includeObject, boolean bookmarks, long timeoutSeconds) {}

  private WatchRequest watchRequest(HttpServerRequest req, Target t) {
    LabelSelector labels = LabelSelector.parse(req.getParam("labelSelector"));
    String fieldSelector = req.getParam("fieldSelector");
    if (t.name() != null) {
      fieldSelector = (fieldSelector == null || fieldSelector.isEmpty() ? "" : fieldSelector + ",") + "metadata.name=" + t.name();
    }
    FieldSelector fields = FieldSelector.parse(fieldSelector, t.type());
    String rvParam = req.getParam("resourceVersion");
    boolean fromNow = rvParam == null || rvParam.isEmpty() || rvParam.equals("0");
    long after = 0;
    if (!fromNow) {
      try {
        after = Long.parseLong(rvParam);
      } catch (NumberFormatException e) {
        throw ApiException.badRequest("resourceVersion \"" + rvParam + "\" is not a resource version this server issued");
      }
    }
    return new WatchRequest(t, labels, fields, fromNow, after, Requests.wantsTable(req) ? reads.table(t.type()) : null,
        req.getParam("includeObject"), "true".equals(req.getParam("allowWatchBookmarks")),
        parseTimeout(req.getParam("timeoutSeconds")));
  }

  /** A watch asked for over a WebSocket upgrade, as fabric8 and client-go do first; any other request goes on. */
  void webSocketWatch(RoutingContext ctx) {
    HttpServerRequest req = ctx.request();
    String upgrade = req.getHeader("Upgrade");
    if (upgrade == null || !upgrade.equalsIgnoreCase("websocket") || !asked(req) || req.method() != HttpMethod.GET) {
      ctx.next();
      return;
    }
    WatchRequest w;
    try {
      RequestTarget rt = RequestTarget.parse(req.path());
      Target t = rt.kind() == RequestTarget.Kind.RESOURCE ? resolve.apply(rt) : null;
      if (t == null || t.subresource() != null) {
        throw ApiException.notFound("the server could not find the requested resource (" + req.path() + ")");
      }
      ctx.put(RequestMetrics.TARGET, t);
      authorize.accept(ctx, t);
      w = watchRequest(req, t);
    } catch (ApiException e) {
      Responses.fail(ctx.response(), e);
      return;
    }
    Context context = vertx.getOrCreateContext();
    var hold = nodeHold(ctx);
    req.toWebSocket().onSuccess(ws -> executor.execute(() -> {
      WatchSink sink = WatchSink.of(ws);
      try {
        startWatch(w, sink, context, hold);
      } catch (ApiException e) {
        context.runOnContext(v -> sink.end(CachedEvent.frame("ERROR", Json.bytes(e.status()))));
      } catch (RuntimeException e) {
        log.error("watch {} failed", req.uri(), e);
        context.runOnContext(v -> sink.end(CachedEvent.frame("ERROR", Json.bytes(Responses.internalError().status()))));
      }
    })).onFailure(e -> log.debug("websocket upgrade failed: {}", e.toString()));
  }

  /** A watch over the response of an authorised GET of {@code t}; runs off the event loop, throws ApiException while nothing is sent. */
  void watch(RoutingContext ctx, Target t) {
    startWatch(watchRequest(ctx.request(), t), WatchSink.of(ctx.response()), vertx.getOrCreateContext(), nodeHold(ctx));
  }

  /**
   * For a watch a node opens: given how to end the watch, arranges that revoking the node ends it,
   * and returns what undoes that. Null when no node opened it.
   */
  private Function<Runnable, Runnable> nodeHold(RoutingContext ctx) {
    String uid = ctx.get(HttpApi.NODE_IDENTITY);
    var nodes = nodeIdentities;
    if (uid == null || nodes == null) {
      return null;
    }
    String node = NodeIdentities.claimedNode(ctx.get("user"));
    return end -> nodes.whileValid(node, uid, end);
  }

  /** Subscribes and starts streaming; throws ApiException while nothing has been sent yet. */
  private void startWatch(WatchRequest r, WatchSink sink, Context context, Function<Runnable, Runnable> hold) {
    Target t = r.target;
    long after = r.after;
    List<byte[]> initial = List.of();
    if (r.fromNow) {
      ListResult list = service.list(t.type(), t.namespace(), new ListOptions(r.labels, r.fields, 0, null, null));
      after = list.resourceVersion();
      initial = list.items();
    }
    HttpWatch w = new HttpWatch(sink, context, t.type().keyPrefix(t.namespace()), r.labels, r.fields, r.table,
        r.includeObject, r.bookmarks, t.type().apiVersion(), t.type().kind(), watchQueueLimit + initial.size(), after);
    WatchCache.Watch upstream = caches.get(t.type()).watch(w, after);
    context.runOnContext(v -> {
      w.open();
      long timer = vertx.setTimer(Duration.ofSeconds(r.timeoutSeconds).toMillis(), id -> w.close());
      // a node's watch ends when the node is revoked: its next request is refused
      Runnable release = hold == null ? () -> { } : hold.apply(w::close);
      RequestMetrics m = metrics;
      Runnable counted = m == null ? () -> { } : m.watchOpened(t);
      Runnable cleanup = () -> {
        vertx.cancelTimer(timer);
        upstream.close();
        release.run();
        counted.run();
      };
      w.onEnd(cleanup);
      sink.closeHandler(() -> {
        w.disconnected();
        cleanup.run();
      });
      if (sink.closed()) {
        w.disconnected();
        cleanup.run();
      }
    });
    w.initial(initial);
  }

  private static long parseTimeout(String value) {
    if (value == null || value.isEmpty()) {
      // like Kubernetes: a random timeout spreads reconnects of many clients
      return 1800 + ThreadLocalRandom.current().nextLong(1800);
    }
    try {
      long s = Long.parseLong(value);
      if (s <= 0) {
        throw ApiException.badRequest("timeoutSeconds must be positive");
      }
      return s;
    } catch (NumberFormatException e) {
      throw ApiException.badRequest("timeoutSeconds must be a number, not \"" + value + "\"");
    }
  }
}
