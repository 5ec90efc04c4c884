package dev.procurator.apiserver.rest;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.procurator.api.v1alpha1.Names;
import dev.procurator.apiserver.auth.Authenticator;
import dev.procurator.apiserver.auth.UserInfo;
import dev.procurator.apiserver.registry.ApiException;
import dev.procurator.apiserver.registry.FieldSelector;
import dev.procurator.apiserver.registry.Json;
import dev.procurator.apiserver.registry.LabelSelector;
import dev.procurator.apiserver.registry.ListOptions;
import dev.procurator.apiserver.registry.ListResult;
import dev.procurator.apiserver.registry.ResourceService;
import dev.procurator.apiserver.registry.Written;
import dev.procurator.apiserver.resource.ResourceRegistry;
import dev.procurator.apiserver.resource.ResourceType;
import dev.procurator.apiserver.storage.StorageException;
import dev.procurator.apiserver.watch.WatchCache;
import io.vertx.core.Context;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import io.vertx.ext.web.handler.BodyHandler;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.ThreadLocalRandom;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Routes Kubernetes API requests to the resource service and watch caches, and turns every
 * failure into a {@code Status} response: this is the one place errors become HTTP.
 */
public final class HttpApi {
  private static final Logger log = LoggerFactory.getLogger(HttpApi.class);
  /** Largest request body accepted, as the Kubernetes API server does. */
  public static final int MAX_BODY_BYTES = 3 * 1024 * 1024;

  private final Vertx vertx;
  private final ResourceRegistry registry;
  private final ResourceService service;
  private final Map<ResourceType, WatchCache> caches;
  private final Authenticator authenticator;
  private final Discovery discovery;
  private final Clock clock;
  private final ExecutorService executor;
  private final Reads reads;
  private final Writes writes;
  private final String serverAddress;
  private final int watchQueueLimit;
  private final LogProxy logs;
  private final GitWebhook webhook;
  private volatile dev.procurator.apiserver.encryption.KeyRotation rotation;
  private volatile AuditLog audit;
  private volatile dev.procurator.apiserver.authz.Authorization authorization;
  private volatile boolean clientCertificates;
  private volatile dev.procurator.apiserver.auth.NodeIdentities nodeIdentities;
  /** The request's node identity (the uid its certificate names), when a node makes it. */
  private static final String NODE_IDENTITY = "nodeIdentity";

  public HttpApi(Vertx vertx, ResourceRegistry registry, ResourceService service, Map<ResourceType, WatchCache> caches,
      Authenticator authenticator, Clock clock, ExecutorService executor, String serverAddress, String version, int watchQueueLimit) {
    this.vertx = vertx;
    this.registry = registry;
    this.service = service;
    this.caches = caches;
    this.authenticator = authenticator;
    this.clock = clock;
    this.executor = executor;
    this.serverAddress = serverAddress;
    this.watchQueueLimit = watchQueueLimit;
    this.discovery = new Discovery(registry, version);
    this.logs = new LogProxy(vertx, service, registry);
    this.webhook = new GitWebhook(registry, service, executor, clock);
    this.reads = new Reads(service, clock);
    this.writes = new Writes(service);
  }

  /** Writes an audit line for every request about Secrets or keys and every write. */
  public HttpApi withAuditLog(AuditLog a) {
    this.audit = a;
    return this;
  }

  /** Decides every resource request with {@code a}; without one every authenticated user may do anything. */
  public HttpApi withAuthorization(dev.procurator.apiserver.authz.Authorization a) {
    this.authorization = a;
    return this;
  }

  /**
   * Accepts client certificates the TLS layer verified against the cluster CA: the subject's CN
   * is the user and its O values the groups, as Kubernetes reads them. A node's certificate must
   * also be one {@code nodes} still holds good (null: no node certificate is).
   */
  public HttpApi withClientCertificates(boolean on, dev.procurator.apiserver.auth.NodeIdentities nodes) {
    this.clientCertificates = on;
    this.nodeIdentities = nodes;
    logs.withNodeIdentities(nodes);
    return this;
  }

  /** Reaches TLS node agents (for logs) with this client certificate, trusting {@code caPem}. */
  public HttpApi withAgentTls(String caPem, String certPem, String keyPem) {
    logs.withAgentTls(caPem, certPem, keyPem);
    return this;
  }

  /** Serves {@code /encryption/status}, {@code /encryption/rotate} and {@code /encryption/retire?key=ID} to cluster admins. */
  public HttpApi withKeyRotation(dev.procurator.apiserver.encryption.KeyRotation r) {
    this.rotation = r;
    return this;
  }

  public Router router() {
    Router router = Router.router(vertx);
    router.route("/healthz").handler(ctx -> ctx.response().putHeader("Content-Type", "text/plain").end("ok"));
    router.route("/livez").handler(ctx -> ctx.response().putHeader("Content-Type", "text/plain").end("ok"));
    router.route("/readyz").handler(ctx -> ctx.response().putHeader("Content-Type", "text/plain").end("ok"));
    router.get("/version").handler(ctx -> json(ctx.response(), 200, discovery.version()));
    // a git server's push notification: signed, not authenticated by a token
    router.post(GitWebhook.PATH).handler(BodyHandler.create(false).setBodyLimit(GitWebhook.MAX_BODY_BYTES).setHandleFileUploads(false))
        .handler(webhook::handle);
    router.route().handler(this::authenticate);
    router.route().handler(this::webSocketWatch);
    router.route().handler(BodyHandler.create(false).setBodyLimit(MAX_BODY_BYTES).setHandleFileUploads(false));
    router.get("/encryption/status").handler(ctx -> encryption(ctx, r -> r.status()));
    router.post("/encryption/rotate").handler(ctx -> encryption(ctx, r -> {
      r.rotate();
      return r.status();
    }));
    router.post("/encryption/retire").handler(ctx -> encryption(ctx, r -> {
      String key = ctx.request().getParam("key");
      if (key == null || key.isBlank()) {
        throw ApiException.badRequest("name the key to retire: /encryption/retire?key=ID");
      }
      try {
        r.retire(key);
      } catch (java.io.IOException e) {
        throw ApiException.badRequest("key " + key + " cannot be retired: " + e.getMessage());
      }
      return r.status();
    }));
    router.post(AccessReviews.SELF_SUBJECT_ACCESS).handler(ctx -> json(ctx.response(), 201, AccessReviews.access(ctx, authorization)));
    router.post(AccessReviews.SELF_SUBJECT_RULES).handler(ctx -> json(ctx.response(), 201, AccessReviews.rules(ctx, authorization)));
    router.post(AccessReviews.SUBJECT_ACCESS).handler(ctx -> json(ctx.response(), 201, AccessReviews.subjectAccess(ctx, authorization)));
    router.get("/api").handler(ctx -> json(ctx.response(), 200, discovery.coreVersions(serverAddress)));
    router.get("/api/v1").handler(ctx -> json(ctx.response(), 200, discovery.coreResources()));
    router.get("/apis").handler(ctx -> json(ctx.response(), 200, discovery.groups()));
    router.get("/openapi/v2").handler(this::openApiV2);
    router.get("/openapi/v3").handler(ctx -> json(ctx.response(), 200, discovery.openApiV3Index()));
    router.getWithRegex("/openapi/v3/(?:apis|api)/(.+)").handler(ctx -> {
      ObjectNode doc = discovery.openApiV3(ctx.pathParam("param0"));
      if (doc == null) {
        fail(ctx.response(), ApiException.notFound("no OpenAPI document for " + ctx.pathParam("param0")));
      } else {
        json(ctx.response(), 200, doc);
      }
    });
    router.routeWithRegex("/apis/.+").handler(this::resource);
    router.routeWithRegex("/api/v1/.+").handler(this::resource);
    router.route().handler(ctx -> fail(ctx.response(),
        ApiException.notFound("the server could not find the requested resource (" + ctx.request().path() + ")")));
    router.route().failureHandler(this::failure);
    return router;
  }

  // ---- encryption at rest ----

  private interface RotationCall {
    Object call(dev.procurator.apiserver.encryption.KeyRotation r) throws Exception;
  }

  /** Key rotation, for members of {@code system:masters} only; off the event loop (it reads every Secret). */
  private void encryption(RoutingContext ctx, RotationCall call) {
    dev.procurator.apiserver.auth.UserInfo user = ctx.get("user");
    if (user == null || !user.groups().contains("system:masters")) {
      fail(ctx.response(), ApiException.forbidden("only cluster admins (group system:masters) may manage encryption keys"));
      return;
    }
    var r = rotation;
    if (r == null) {
      fail(ctx.response(), ApiException.notFound("this server does not encrypt Secrets at rest"));
      return;
    }
    Context context = vertx.getOrCreateContext();
    executor.execute(() -> {
      try {
        JsonNode body = new com.fasterxml.jackson.databind.ObjectMapper().valueToTree(call.call(r));
        context.runOnContext(v -> json(ctx.response(), 200, body));
      } catch (ApiException e) {
        context.runOnContext(v -> fail(ctx.response(), e));
      } catch (Exception e) {
        context.runOnContext(v -> fail(ctx.response(), ApiException.internal("key rotation failed: " + e.getMessage())));
      }
    });
  }

  // ---- authentication ----

  private void authenticate(RoutingContext ctx) {
    AuditLog a = audit;
    if (a != null && a.wanted(ctx)) {
      a.watch(ctx);
    }
    String header = ctx.request().getHeader("Authorization");
    var user = authenticator.authenticate(header);
    if (user.isEmpty() && header == null && clientCertificates) {
      var cert = ClientCertificates.peer(ctx.request());
      user = cert.flatMap(ClientCertificates::of);
      if (user.isPresent() && dev.procurator.apiserver.auth.NodeIdentities.claimedNode(user.get()) != null) {
        var nodes = nodeIdentities;
        String refused = nodes == null ? "node certificates are not accepted here" : nodes.refusal(user.get(), cert.get());
        if (refused != null) {
          fail(ctx.response(), ApiException.unauthorized("Unauthorized: " + refused));
          return;
        }
        ctx.put(NODE_IDENTITY, dev.procurator.apiserver.auth.NodeIdentities.uidOf(cert.get()));
      }
    }
    if (user.isEmpty()) {
      // the request may still be sending its body; answer without reading it
      fail(ctx.response(), ApiException.unauthorized("Unauthorized: a valid bearer token is required"));
      return;
    }
    UserInfo effective;
    try {
      effective = Impersonation.effectiveUser(user.get(), ctx.request().headers(), authorization);
    } catch (ApiException e) {
      ctx.put("user", user.get());
      fail(ctx.response(), e);
      return;
    }
    if (effective != user.get()) {
      ctx.put(IMPERSONATOR, user.get());
    }
    ctx.put("user", effective);
    ctx.next();
  }

  /** The authenticated caller of a request that impersonates another user ({@code user} is the one it acts as). */
  static final String IMPERSONATOR = "impersonator";

  // ---- authorization ----

  /**
   * Refuses the request with 403 unless the caller may do it; leaves the admission check of a
   * write on the request for the write to run on the object it stores.
   */
  private void authorize(RoutingContext ctx, Target t) {
    var az = authorization;
    if (az == null) {
      return;
    }
    dev.procurator.apiserver.authz.Attributes a = AccessReviews.attributes(ctx, t);
    dev.procurator.apiserver.authz.Decision d = az.authorize(a);
    if (!d.allowed()) {
      throw ApiException.forbidden((t.name() == null ? t.type().qualifiedResource() : t.type().qualifiedResource() + " \"" + t.name() + "\"")
          + " is forbidden: " + d.reason());
    }
    var admission = az.admission(a);
    if (admission != null) {
      ctx.put(Requests.ADMISSION, admission);
    }
  }

  private void failure(RoutingContext ctx) {
    Throwable t = ctx.failure();
    int code = ctx.statusCode();
    if (t instanceof ApiException e) {
      fail(ctx.response(), e);
    } else if (code == 413) {
      fail(ctx.response(), ApiException.tooLarge("the request body is larger than " + MAX_BODY_BYTES + " bytes"));
    } else if (code > 0 && code < 500) {
      fail(ctx.response(), new ApiException(code, "BadRequest", "the request could not be served (" + code + ")", null));
    } else {
      log.error("request {} {} failed", ctx.request().method(), ctx.request().path(), t);
      fail(ctx.response(), ApiException.internal("an internal error occurred; the server log has the details"));
    }
  }

  // ---- responses ----

  static void json(HttpServerResponse r, int code, JsonNode body) {
    bytes(r, code, Json.bytes(body));
  }

  static void bytes(HttpServerResponse r, int code, byte[] body) {
    if (r.ended() || r.closed()) {
      return;
    }
    r.setStatusCode(code).putHeader("Content-Type", "application/json").end(Buffer.buffer(body));
  }

  static void fail(HttpServerResponse r, ApiException e) {
    json(r, e.code(), e.status());
  }

  private void openApiV2(RoutingContext ctx) {
    String accept = ctx.request().getHeader("Accept");
    if (accept != null && !accept.contains("json") && !accept.contains("*/*")) {
      fail(ctx.response(), ApiException.notAcceptable("the OpenAPI v2 document is served as application/json only; use /openapi/v3"));
      return;
    }
    json(ctx.response(), 200, discovery.openApiV2());
  }

  // ---- resources ----


  /** The resource {@code t} names, resolved against the registry. */
  private Target resolve(RequestTarget t) {
    String group = t.group();
    String version = t.version();
    String plural = t.resource();
    String namespace = t.namespace();
    String name = t.name();
    String sub = t.subresource();
    ResourceType type = registry.find(group, version, plural).orElseThrow(() -> ApiException.notFound(
        "the server could not find the requested resource: no " + plural + " in " + (group.isEmpty() ? version : group + "/" + version)));
    if (type.namespaced() && namespace == null && name != null) {
      throw ApiException.notFound(type.qualifiedResource() + " are namespaced: use /apis/" + group + "/" + version
          + "/namespaces/NAMESPACE/" + plural + "/" + name);
    }
    if (!type.namespaced() && namespace != null) {
      throw ApiException.notFound(type.qualifiedResource() + " are not namespaced");
    }
    if (sub != null && !(sub.equals("status") && type.statusSubresource()) && !(sub.equals("log") && logs.serves(type))) {
      throw ApiException.notFound(type.qualifiedResource() + " has no subresource \"" + sub + "\"");
    }
    return new Target(type, namespace, name, sub);
  }

  private void resource(RoutingContext ctx) {
    HttpServerRequest req = ctx.request();
    String path = req.path();
    Target target;
    try {
      RequestTarget rt = RequestTarget.parse(path);
      if (rt.kind() == RequestTarget.Kind.GROUP) {
        ObjectNode g = discovery.group(rt.group());
        if (g == null) {
          throw ApiException.notFound("the server could not find the requested resource: no API group " + rt.group());
        }
        json(ctx.response(), 200, g);
        return;
      }
      if (rt.kind() == RequestTarget.Kind.VERSION) {
        ObjectNode r = rt.group().isEmpty() ? (rt.version().equals("v1") ? discovery.coreResources() : null)
            : discovery.resources(rt.group(), rt.version());
        if (r == null) {
          throw ApiException.notFound("the server could not find the requested resource: no API "
              + (rt.group().isEmpty() ? rt.version() : rt.group() + "/" + rt.version()));
        }
        json(ctx.response(), 200, r);
        return;
      }
      target = resolve(rt);
      if (target.namespace() != null && !Names.isLabel(target.namespace())) {
        throw ApiException.badRequest("invalid namespace \"" + target.namespace() + "\": a namespace must be a lowercase RFC 1123 label");
      }
      authorize(ctx, target);
    } catch (ApiException e) {
      fail(ctx.response(), e);
      return;
    }
    HttpMethod method = req.method();
    if ("log".equals(target.subresource())) {
      if (method != HttpMethod.GET) {
        fail(ctx.response(), ApiException.methodNotAllowed(method + " is not supported on the log subresource"));
        return;
      }
      Context context = vertx.getOrCreateContext();
      executor.execute(() -> guarded(ctx, context, () -> logs.handle(ctx, context, target.type(), target.namespace(), target.name())));
      return;
    }
    boolean watch = "true".equals(req.getParam("watch")) || "1".equals(req.getParam("watch"));
    if (method == HttpMethod.GET && watch) {
      Context context = vertx.getOrCreateContext();
      executor.execute(() -> guarded(ctx, context, () -> watch(ctx, target)));
      return;
    }
    Context context = vertx.getOrCreateContext();
    if (method == HttpMethod.POST && target.name() == null && Requests.smallJson(ctx) && ctx.get(Requests.ADMISSION) == null) {
      createOnEventLoop(ctx, context, target);
      return;
    }
    executor.execute(() -> guarded(ctx, context, () -> {
      Reply reply = dispatch(ctx, method, target);
      context.runOnContext(v -> send(ctx, reply));
    }));
  }

  private static void send(RoutingContext ctx, Reply reply) {
    reply.warnings().forEach(w -> ctx.response().headers().add("Warning", "299 - \"" + w.replace("\"", "\\\"") + "\""));
    bytes(ctx.response(), reply.code(), reply.body());
  }

  /**
   * A create is checked and encoded on the event loop and answered when storage completes, so no
   * thread waits for the write: creates are the verb clients send in bursts. Large or YAML bodies
   * go the worker way instead, so parsing them never holds an event loop up.
   */
  private void createOnEventLoop(RoutingContext ctx, Context context, Target t) {
    CompletableFuture<Written> created;
    try {
      created = writes.createAsync(ctx, t);
    } catch (RuntimeException e) {
      fail(ctx.response(), apiError(ctx, e));
      return;
    }
    created.whenComplete((w, failure) -> context.runOnContext(v -> {
      if (failure == null) {
        send(ctx, new Reply(201, w.bytes(), w.warnings()));
      } else {
        fail(ctx.response(), apiError(ctx, ApiException.unwrap(failure)));
      }
    }));
  }

  /** The client's view of a failure; anything but an ApiException is logged and answered as an internal error. */
  private static ApiException apiError(RoutingContext ctx, RuntimeException e) {
    return switch (e) {
      case ApiException api -> api;
      case StorageException s -> ApiException.unavailable("storage failed: " + s.getMessage());
      default -> {
        log.error("request {} {} failed", ctx.request().method(), ctx.request().uri(), e);
        yield ApiException.internal("an internal error occurred; the server log has the details");
      }
    };
  }


  /** GET of one object or a collection (as a Table when asked); every other verb is a write. */
  private Reply dispatch(RoutingContext ctx, HttpMethod method, Target t) {
    Writes.checkWritable(t, method);
    if (method == HttpMethod.GET) {
      return t.name() == null ? reads.list(ctx, t) : reads.get(ctx, t);
    }
    return writes.handle(ctx, method, t);
  }

  /** Runs request work off the event loop; a failure is answered on the request's context. */
  private static void guarded(RoutingContext ctx, Context context, Runnable work) {
    try {
      work.run();
    } catch (RuntimeException e) {
      ApiException failure = apiError(ctx, e);
      context.runOnContext(v -> fail(ctx.response(), failure));
    }
  }

  // ---- watch ----

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

  /** A watch asked for over a WebSocket upgrade, as fabric8 and client-go do first. */
  private void webSocketWatch(RoutingContext ctx) {
    HttpServerRequest req = ctx.request();
    String upgrade = req.getHeader("Upgrade");
    boolean watch = "true".equals(req.getParam("watch")) || "1".equals(req.getParam("watch"));
    if (upgrade == null || !upgrade.equalsIgnoreCase("websocket") || !watch || req.method() != HttpMethod.GET) {
      ctx.next();
      return;
    }
    WatchRequest w;
    try {
      RequestTarget rt = RequestTarget.parse(req.path());
      Target t = rt.kind() == RequestTarget.Kind.RESOURCE ? resolve(rt) : null;
      if (t == null || t.subresource() != null) {
        throw ApiException.notFound("the server could not find the requested resource (" + req.path() + ")");
      }
      authorize(ctx, t);
      w = watchRequest(req, t);
    } catch (ApiException e) {
      fail(ctx.response(), e);
      return;
    }
    Context context = vertx.getOrCreateContext();
    var hold = nodeHold(ctx);
    req.toWebSocket().onSuccess(ws -> executor.execute(() -> {
      WatchSink sink = WatchSink.of(ws);
      try {
        startWatch(w, sink, context, hold);
      } catch (ApiException e) {
        context.runOnContext(v -> sink.end(dev.procurator.apiserver.watch.CachedEvent.frame("ERROR", Json.bytes(e.status()))));
      } catch (RuntimeException e) {
        log.error("watch {} failed", req.uri(), e);
        context.runOnContext(v -> sink.end(dev.procurator.apiserver.watch.CachedEvent.frame("ERROR",
            Json.bytes(ApiException.internal("an internal error occurred; the server log has the details").status()))));
      }
    })).onFailure(e -> log.debug("websocket upgrade failed: {}", e.toString()));
  }

  private void watch(RoutingContext ctx, Target t) {
    startWatch(watchRequest(ctx.request(), t), WatchSink.of(ctx.response()), vertx.getOrCreateContext(), nodeHold(ctx));
  }

  /**
   * For a watch a node opens: given how to end the watch, arranges that revoking the node ends it,
   * and returns what undoes that. Null when no node opened it.
   */
  private java.util.function.Function<Runnable, Runnable> nodeHold(RoutingContext ctx) {
    String uid = ctx.get(NODE_IDENTITY);
    var nodes = nodeIdentities;
    if (uid == null || nodes == null) {
      return null;
    }
    String node = dev.procurator.apiserver.auth.NodeIdentities.claimedNode(ctx.get("user"));
    return end -> nodes.whileValid(node, uid, end);
  }

  /** Subscribes and starts streaming; throws ApiException while nothing has been sent yet. */
  private void startWatch(WatchRequest r, WatchSink sink, Context context, java.util.function.Function<Runnable, Runnable> hold) {
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
      Runnable cleanup = () -> {
        vertx.cancelTimer(timer);
        upstream.close();
        release.run();
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
