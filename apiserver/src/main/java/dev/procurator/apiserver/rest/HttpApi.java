package dev.procurator.apiserver.rest;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.procurator.api.v1alpha1.Names;
import dev.procurator.apiserver.auth.Authenticator;
import dev.procurator.apiserver.auth.UserInfo;
import dev.procurator.apiserver.registry.ApiException;
import dev.procurator.apiserver.registry.ResourceService;
import dev.procurator.apiserver.registry.Written;
import dev.procurator.apiserver.resource.ResourceRegistry;
import dev.procurator.apiserver.resource.ResourceType;
import dev.procurator.apiserver.watch.WatchCache;
import io.vertx.core.Context;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import io.vertx.ext.web.handler.BodyHandler;
import java.time.Clock;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;

/**
 * Routes Kubernetes API requests: health and discovery, authentication (tokens, client
 * certificates, impersonation), authorization, and the resource verbs, which run off the event
 * loop (creates of small JSON bodies on it, without waiting). Watches are set up by
 * {@link WatchEndpoint}, encryption keys administered by {@link KeyAdministration}, and every
 * failure becomes a {@code Status} response in {@link Responses}.
 */
public final class HttpApi {
  /** Largest request body accepted, as the Kubernetes API server does. */
  public static final int MAX_BODY_BYTES = 3 * 1024 * 1024;

  private final Vertx vertx;
  private final ResourceRegistry registry;
  private final Authenticator authenticator;
  private final Discovery discovery;
  private final ExecutorService executor;
  private final Reads reads;
  private final Writes writes;
  private final String serverAddress;
  private final LogProxy logs;
  private final GitWebhook webhook;
  private final WatchEndpoint watches;
  private final KeyAdministration keys;
  private final ResourceService service;
  private volatile AuditLog audit;
  private volatile RequestMetrics metrics;
  private volatile MetricsEndpoints metricsEndpoints;
  private volatile dev.procurator.apiserver.authz.Authorization authorization;
  private volatile boolean clientCertificates;
  private volatile dev.procurator.apiserver.auth.NodeIdentities nodeIdentities;
  /** The request's node identity (the uid its certificate names), when a node makes it. */
  static final String NODE_IDENTITY = "nodeIdentity";

  public HttpApi(Vertx vertx, ResourceRegistry registry, ResourceService service, Map<ResourceType, WatchCache> caches,
      Authenticator authenticator, Clock clock, ExecutorService executor, String serverAddress, String version, int watchQueueLimit) {
    this.vertx = vertx;
    this.registry = registry;
    this.service = service;
    this.authenticator = authenticator;
    this.executor = executor;
    this.serverAddress = serverAddress;
    this.discovery = new Discovery(registry, version);
    this.logs = new LogProxy(vertx, service, registry);
    this.webhook = new GitWebhook(registry, service, executor, clock);
    this.reads = new Reads(service, clock);
    this.writes = new Writes(service);
    this.watches = new WatchEndpoint(vertx, service, caches, executor, reads, watchQueueLimit, this::resolve, this::authorize);
    this.keys = new KeyAdministration(vertx, executor);
  }

  /**
   * Measures every request into {@code r} under kube-apiserver's names, and serves it at
   * {@code /metrics}, beside the cluster's scrape targets at {@code /sd/prometheus}; without it
   * nothing is measured and neither path is served.
   */
  public HttpApi withMetrics(io.micrometer.prometheusmetrics.PrometheusMeterRegistry r) {
    return withMetrics(r, () -> {});
  }

  /** As {@link #withMetrics(io.micrometer.prometheusmetrics.PrometheusMeterRegistry)}, running {@code beforeScrape} before each scrape. */
  public HttpApi withMetrics(io.micrometer.prometheusmetrics.PrometheusMeterRegistry r, Runnable beforeScrape) {
    this.metrics = new RequestMetrics(r, registry.all());
    this.metricsEndpoints = new MetricsEndpoints(vertx, executor, r, beforeScrape, service, registry, () -> authorization);
    watches.withMetrics(metrics);
    return this;
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
    watches.withNodeIdentities(nodes);
    return this;
  }

  /** Reaches TLS node agents (for logs) with this client certificate, trusting {@code caPem}. */
  public HttpApi withAgentTls(String caPem, String certPem, String keyPem) {
    logs.withAgentTls(caPem, certPem, keyPem);
    return this;
  }

  /** Serves {@code /encryption/status}, {@code /encryption/rotate} and {@code /encryption/retire?key=ID} to cluster admins. */
  public HttpApi withKeyRotation(dev.procurator.apiserver.encryption.KeyRotation r) {
    keys.use(r);
    return this;
  }

  public Router router() {
    Router router = Router.router(vertx);
    RequestMetrics m = metrics;
    if (m != null) {
      // every request is timed once, here, until its response ends
      router.route().handler(ctx -> {
        m.measure(ctx);
        ctx.next();
      });
    }
    router.route("/healthz").handler(ctx -> ctx.response().putHeader("Content-Type", "text/plain").end("ok"));
    router.route("/livez").handler(ctx -> ctx.response().putHeader("Content-Type", "text/plain").end("ok"));
    router.route("/readyz").handler(ctx -> ctx.response().putHeader("Content-Type", "text/plain").end("ok"));
    router.get("/version").handler(ctx -> Responses.json(ctx.response(), 200, discovery.version()));
    // a git server's push notification: signed, not authenticated by a token
    router.post(GitWebhook.PATH).handler(BodyHandler.create(false).setBodyLimit(GitWebhook.MAX_BODY_BYTES).setHandleFileUploads(false))
        .handler(webhook::handle);
    router.route().handler(this::authenticate);
    router.route().handler(watches::webSocketWatch);
    router.route().handler(BodyHandler.create(false).setBodyLimit(MAX_BODY_BYTES).setHandleFileUploads(false));
    keys.addRoutes(router);
    if (metricsEndpoints != null) {
      metricsEndpoints.addRoutes(router);
    }
    router.post(AccessReviews.SELF_SUBJECT_ACCESS).handler(ctx -> Responses.json(ctx.response(), 201, AccessReviews.access(ctx, authorization)));
    router.post(AccessReviews.SELF_SUBJECT_RULES).handler(ctx -> Responses.json(ctx.response(), 201, AccessReviews.rules(ctx, authorization)));
    router.post(AccessReviews.SUBJECT_ACCESS).handler(ctx -> Responses.json(ctx.response(), 201, AccessReviews.subjectAccess(ctx, authorization)));
    router.get("/api").handler(ctx -> Responses.json(ctx.response(), 200, discovery.coreVersions(serverAddress)));
    router.get("/api/v1").handler(ctx -> Responses.json(ctx.response(), 200, discovery.coreResources()));
    router.get("/apis").handler(ctx -> Responses.json(ctx.response(), 200, discovery.groups()));
    router.get("/openapi/v2").handler(this::openApiV2);
    router.get("/openapi/v3").handler(ctx -> Responses.json(ctx.response(), 200, discovery.openApiV3Index()));
    router.getWithRegex("/openapi/v3/(?:apis|api)/(.+)").handler(ctx -> {
      ObjectNode doc = discovery.openApiV3(ctx.pathParam("param0"));
      if (doc == null) {
        Responses.fail(ctx.response(), ApiException.notFound("no OpenAPI document for " + ctx.pathParam("param0")));
      } else {
        Responses.json(ctx.response(), 200, doc);
      }
    });
    router.routeWithRegex("/apis/.+").handler(this::resource);
    router.routeWithRegex("/api/v1/.+").handler(this::resource);
    router.route().handler(ctx -> Responses.fail(ctx.response(),
        ApiException.notFound("the server could not find the requested resource (" + ctx.request().path() + ")")));
    router.route().failureHandler(ctx -> Responses.failure(ctx, MAX_BODY_BYTES));
    return router;
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
          Responses.fail(ctx.response(), ApiException.unauthorized("Unauthorized: " + refused));
          return;
        }
        ctx.put(NODE_IDENTITY, dev.procurator.apiserver.auth.NodeIdentities.uidOf(cert.get()));
      }
    }
    if (user.isEmpty()) {
      // the request may still be sending its body; answer without reading it
      Responses.fail(ctx.response(), ApiException.unauthorized("Unauthorized: a valid bearer token is required"));
      return;
    }
    UserInfo effective;
    try {
      effective = Impersonation.effectiveUser(user.get(), ctx.request().headers(), authorization);
    } catch (ApiException e) {
      ctx.put("user", user.get());
      Responses.fail(ctx.response(), e);
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

  private void openApiV2(RoutingContext ctx) {
    String accept = ctx.request().getHeader("Accept");
    if (accept != null && !accept.contains("json") && !accept.contains("*/*")) {
      Responses.fail(ctx.response(), ApiException.notAcceptable("the OpenAPI v2 document is served as application/json only; use /openapi/v3"));
      return;
    }
    Responses.json(ctx.response(), 200, discovery.openApiV2());
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
        Responses.json(ctx.response(), 200, g);
        return;
      }
      if (rt.kind() == RequestTarget.Kind.VERSION) {
        ObjectNode r = rt.group().isEmpty() ? (rt.version().equals("v1") ? discovery.coreResources() : null)
            : discovery.resources(rt.group(), rt.version());
        if (r == null) {
          throw ApiException.notFound("the server could not find the requested resource: no API "
              + (rt.group().isEmpty() ? rt.version() : rt.group() + "/" + rt.version()));
        }
        Responses.json(ctx.response(), 200, r);
        return;
      }
      target = resolve(rt);
      ctx.put(RequestMetrics.TARGET, target);
      if (target.namespace() != null && !Names.isLabel(target.namespace())) {
        throw ApiException.badRequest("invalid namespace \"" + target.namespace() + "\": a namespace must be a lowercase RFC 1123 label");
      }
      authorize(ctx, target);
    } catch (ApiException e) {
      Responses.fail(ctx.response(), e);
      return;
    }
    HttpMethod method = req.method();
    if ("log".equals(target.subresource())) {
      if (method != HttpMethod.GET) {
        Responses.fail(ctx.response(), ApiException.methodNotAllowed(method + " is not supported on the log subresource"));
        return;
      }
      Context context = vertx.getOrCreateContext();
      executor.execute(() -> guarded(ctx, context, () -> logs.handle(ctx, context, target.type(), target.namespace(), target.name())));
      return;
    }
    if (method == HttpMethod.GET && WatchEndpoint.asked(req)) {
      Context context = vertx.getOrCreateContext();
      executor.execute(() -> guarded(ctx, context, () -> watches.watch(ctx, target)));
      return;
    }
    Context context = vertx.getOrCreateContext();
    if (method == HttpMethod.POST && target.name() == null && Requests.smallJson(ctx) && ctx.get(Requests.ADMISSION) == null) {
      createOnEventLoop(ctx, context, target);
      return;
    }
    executor.execute(() -> guarded(ctx, context, () -> {
      Reply reply = dispatch(ctx, method, target);
      context.runOnContext(v -> Responses.send(ctx, reply));
    }));
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
      Responses.fail(ctx.response(), Responses.apiError(ctx, e));
      return;
    }
    created.whenComplete((w, failure) -> context.runOnContext(v -> {
      if (failure == null) {
        Responses.send(ctx, new Reply(201, w.bytes(), w.warnings()));
      } else {
        Responses.fail(ctx.response(), Responses.apiError(ctx, ApiException.unwrap(failure)));
      }
    }));
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
      ApiException failure = Responses.apiError(ctx, e);
      context.runOnContext(v -> Responses.fail(ctx.response(), failure));
    }
  }
}
