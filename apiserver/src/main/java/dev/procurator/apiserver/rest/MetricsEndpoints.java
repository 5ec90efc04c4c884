package dev.procurator.apiserver.rest;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.procurator.apiserver.auth.UserInfo;
import dev.procurator.apiserver.authz.Attributes;
import dev.procurator.apiserver.authz.Authorization;
import dev.procurator.apiserver.authz.Decision;
import dev.procurator.apiserver.registry.ApiException;
import dev.procurator.apiserver.registry.FieldSelector;
import dev.procurator.apiserver.registry.Json;
import dev.procurator.apiserver.registry.LabelSelector;
import dev.procurator.apiserver.registry.ListOptions;
import dev.procurator.apiserver.registry.ResourceService;
import dev.procurator.apiserver.resource.ResourceRegistry;
import dev.procurator.apiserver.resource.ResourceType;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.vertx.core.Context;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import java.net.URI;
import java.util.concurrent.ExecutorService;
import java.util.function.Supplier;

/**
 * {@code GET /metrics} (the registry in Prometheus' text format) and {@code GET /sd/prometheus}
 * (the scrape targets of the cluster in Prometheus' {@code http_sd} format: this API server, as
 * {@code job=procurator-apiserver}, and the agent of every Ready Node, as
 * {@code job=procurator-agent} with {@code node=NAME}). Both are non-resource URLs a caller needs
 * RBAC's {@code get} on, as Kubernetes guards {@code /metrics}; the default ClusterRole
 * {@code system:monitoring} grants both. Work runs on the executor; answers go out on the request's
 * context.
 */
final class MetricsEndpoints {
  static final String METRICS = "/metrics";
  static final String DISCOVERY = "/sd/prometheus";
  private static final String TEXT_FORMAT = "text/plain; version=0.0.4; charset=utf-8";

  private final Vertx vertx;
  private final ExecutorService executor;
  private final PrometheusMeterRegistry registry;
  private final Runnable beforeScrape;
  private final ResourceService service;
  private final ResourceType nodes;
  private final Supplier<Authorization> authorization;

  MetricsEndpoints(Vertx vertx, ExecutorService executor, PrometheusMeterRegistry registry, Runnable beforeScrape, ResourceService service,
      ResourceRegistry types, Supplier<Authorization> authorization) {
    this.vertx = vertx;
    this.executor = executor;
    this.registry = registry;
    this.beforeScrape = beforeScrape;
    this.service = service;
    this.nodes = types.find("procurator.dev", "v1alpha1", "nodes").orElseThrow();
    this.authorization = authorization;
  }

  /** Adds both routes to {@code router}, after authentication. */
  void addRoutes(Router router) {
    router.get(METRICS).handler(ctx -> serve(ctx, () -> {
      beforeScrape.run();
      return Buffer.buffer(registry.scrape(), "UTF-8");
    }, TEXT_FORMAT));
    router.get(DISCOVERY).handler(ctx -> serve(ctx, () -> Buffer.buffer(Json.bytes(targets(ctx))), "application/json"));
  }

  private void serve(RoutingContext ctx, Supplier<Buffer> body, String type) {
    String path = ctx.request().path();
    Authorization az = authorization.get();
    if (az != null) {
      UserInfo user = ctx.get("user");
      Decision d = az.authorize(Attributes.nonResource(user, "get", path));
      if (!d.allowed()) {
        Responses.fail(ctx.response(), ApiException.forbidden("forbidden: " + d.reason()));
        return;
      }
    }
    Context context = vertx.getOrCreateContext();
    executor.execute(() -> {
      try {
        Buffer b = body.get();
        context.runOnContext(v -> {
          if (!ctx.response().ended() && !ctx.response().closed()) {
            ctx.response().setStatusCode(200).putHeader("Content-Type", type).end(b);
          }
        });
      } catch (RuntimeException e) {
        ApiException failure = Responses.apiError(ctx, e);
        context.runOnContext(v -> Responses.fail(ctx.response(), failure));
      }
    });
  }

  /** The http_sd document: this server, reached as the caller reached it, then every Ready Node's agent. */
  private ArrayNode targets(RoutingContext ctx) {
    ArrayNode out = Json.MAPPER.createArrayNode();
    String self = ctx.request().authority() != null ? ctx.request().authority().toString()
        : ctx.request().localAddress().host() + ":" + ctx.request().localAddress().port();
    ObjectNode server = out.addObject();
    server.putArray("targets").add(self);
    server.putObject("labels").put("job", "procurator-apiserver").put("__scheme__", ctx.request().isSSL() ? "https" : "http")
        .put("__metrics_path__", METRICS);
    var list = service.list(nodes, null, new ListOptions(LabelSelector.EVERYTHING, FieldSelector.EVERYTHING, 0, null, null));
    for (byte[] item : list.items()) {
      JsonNode node;
      try {
        node = Json.MAPPER.readTree(item);
      } catch (java.io.IOException e) {
        continue;
      }
      String endpoint = node.path("spec").path("agentEndpoint").asText("");
      if (endpoint.isEmpty() || !ready(node)) {
        continue;
      }
      URI uri;
      try {
        uri = URI.create(endpoint);
      } catch (IllegalArgumentException e) {
        continue;
      }
      if (uri.getHost() == null || uri.getScheme() == null) {
        continue;
      }
      String scheme = uri.getScheme().toLowerCase(java.util.Locale.ROOT);
      int port = uri.getPort() > 0 ? uri.getPort() : scheme.equals("https") ? 443 : 80;
      String host = uri.getHost().contains(":") && !uri.getHost().startsWith("[") ? "[" + uri.getHost() + "]" : uri.getHost();
      String base = uri.getPath() == null ? "" : uri.getPath().replaceAll("/$", "");
      ObjectNode agent = out.addObject();
      agent.putArray("targets").add(host + ":" + port);
      agent.putObject("labels").put("job", "procurator-agent").put("node", node.path("metadata").path("name").asText())
          .put("__scheme__", scheme).put("__metrics_path__", base + METRICS);
    }
    return out;
  }

  private static boolean ready(JsonNode node) {
    for (JsonNode c : node.path("status").path("conditions")) {
      if ("Ready".equals(c.path("type").asText())) {
        return "True".equals(c.path("status").asText());
      }
    }
    return false;
  }
}
