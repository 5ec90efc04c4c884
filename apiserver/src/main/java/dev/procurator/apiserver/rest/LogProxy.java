package dev.procurator.apiserver.rest;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.procurator.apiserver.registry.ApiException;
import dev.procurator.apiserver.registry.ResourceService;
import dev.procurator.apiserver.resource.ResourceRegistry;
import dev.procurator.apiserver.resource.ResourceType;
import io.vertx.core.Context;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.RequestOptions;
import io.vertx.ext.web.RoutingContext;
import java.net.URI;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.util.List;

/**
 * The {@code log} subresource of VMs: finds the node a VM is bound to and streams the VM's serial
 * console from that node's agent ({@code spec.agentEndpoint} of the Node), as the Kubernetes API
 * server proxies {@code pods/log} to the kubelet. The caller was authorized for {@code vms/log}
 * (or {@code builds/log}) before this runs. Agents are reached only over TLS, with this server's
 * own client certificate ({@code CN=procurator-apiserver}, from the cluster CA), never the caller's
 * token or certificate, and must present the certificate of the node the VM is bound to ({@code
 * system:node:NAME}, from the cluster CA). An {@code http://} endpoint is refused: the Node's
 * {@code spec.agentEndpoint} is written by the node itself, so it cannot be trusted to say whether
 * a caller's request is safe to send in the clear.
 */
final class LogProxy {
  private static final List<String> PARAMS = List.of("follow", "tailLines", "previous");

  private final ResourceService service;
  private final ResourceType vms;
  private final ResourceType builds;
  private final ResourceType nodes;
  private volatile HttpClient https;
  private volatile dev.procurator.apiserver.auth.NodeIdentities identities;
  private final Vertx vertx;

  LogProxy(Vertx vertx, ResourceService service, ResourceRegistry registry) {
    this.service = service;
    this.vms = registry.find("procurator.dev", "v1alpha1", "vms").orElseThrow();
    this.builds = registry.find("procurator.dev", "v1alpha1", "builds").orElseThrow();
    this.nodes = registry.find("procurator.dev", "v1alpha1", "nodes").orElseThrow();
    this.vertx = vertx;
  }

  /** Reaches TLS agents with this client certificate, trusting only the cluster CA. */
  void withAgentTls(String caPem, String certPem, String keyPem) {
    this.https = vertx.createHttpClient(new HttpClientOptions().setConnectTimeout(5_000).setIdleTimeout(0).setSsl(true)
        // the agent's name is checked on its certificate's subject, not on the address it listens at
        .setVerifyHost(false)
        .setTrustOptions(new io.vertx.core.net.PemTrustOptions().addCertValue(io.vertx.core.buffer.Buffer.buffer(caPem)))
        .setKeyCertOptions(new io.vertx.core.net.PemKeyCertOptions().addCertValue(io.vertx.core.buffer.Buffer.buffer(certPem))
            .addKeyValue(io.vertx.core.buffer.Buffer.buffer(keyPem))));
  }

  /** Holds the agent's certificate to the node's current identity too: one of a node since revoked, or that joined again, is refused. */
  void withNodeIdentities(dev.procurator.apiserver.auth.NodeIdentities identities) {
    this.identities = identities;
  }

  boolean serves(ResourceType type) {
    return type.equals(vms) || type.equals(builds);
  }

  /** Resolves the agent URL (blocking: run off the event loop), then proxies on {@code context}. */
  void handle(RoutingContext ctx, Context context, ResourceType type, String namespace, String name) {
    boolean build = type.equals(builds);
    String node;
    if (build) {
      node = service.get(builds, namespace, name).path("status").path("nodeName").asText("");
      if (node.isEmpty()) {
        throw ApiException.badRequest("build \"" + name + "\" is not placed on a builder (it is queued, or finished and its log is in the cache)");
      }
    } else {
      node = service.get(vms, namespace, name).path("spec").path("nodeName").asText("");
      if (node.isEmpty()) {
        throw ApiException.badRequest("vm \"" + name + "\" is not bound to a node yet, so it has no console to read");
      }
    }
    ObjectNode n;
    try {
      n = service.get(nodes, null, node);
    } catch (ApiException e) {
      throw ApiException.unavailable("vm \"" + name + "\" is bound to node \"" + node + "\", which no longer exists");
    }
    String endpoint = n.path("spec").path("agentEndpoint").asText("");
    if (endpoint.isEmpty()) {
      throw ApiException.unavailable("node \"" + node + "\" publishes no agent endpoint");
    }
    URI base;
    try {
      base = URI.create(endpoint);
    } catch (IllegalArgumentException e) {
      throw ApiException.unavailable("node \"" + node + "\"'s agent endpoint " + endpoint + " is not a URL");
    }
    if (!"https".equalsIgnoreCase(base.getScheme()) || base.getHost() == null) {
      throw ApiException.unavailable("node \"" + node + "\"'s agent endpoint " + endpoint
          + " is not HTTPS; the API server reaches agents only over TLS");
    }
    StringBuilder uri = new StringBuilder(base.getPath() == null ? "" : base.getPath().replaceAll("/$", ""))
        .append(build ? "/logs/builds/" : "/logs/").append(namespace).append('/').append(name);
    char sep = '?';
    for (String p : PARAMS) {
      String v = ctx.request().getParam(p);
      if (v != null) {
        uri.append(sep).append(p).append('=').append(URLEncoder.encode(v, StandardCharsets.UTF_8));
        sep = '&';
      }
    }
    HttpClient client = https;
    if (client == null) {
      throw ApiException.unavailable("node \"" + node + "\" serves its agent over TLS, and this server has no client certificate for it"
          + " (it needs the cluster CA's key)");
    }
    // the caller's Authorization header and certificate stay here: the agent trusts this server's own certificate
    RequestOptions options = new RequestOptions().setMethod(HttpMethod.GET).setHost(base.getHost())
        .setPort(base.getPort() > 0 ? base.getPort() : 443).setURI(uri.toString());
    context.runOnContext(v -> client.request(options)
        .compose(req -> checkNode(req, node).compose(x -> req.send()))
        .onSuccess(resp -> {
          var out = ctx.response();
          out.setStatusCode(resp.statusCode());
          out.putHeader("Content-Type", resp.getHeader("Content-Type") == null ? "text/plain" : resp.getHeader("Content-Type"));
          out.setChunked(true);
          // the client went away (one stream of a shared HTTP/2 connection, or the connection): stop reading the agent
          out.closeHandler(x -> resp.request().reset());
          resp.pipeTo(out);
        })
        .onFailure(e -> Responses.fail(ctx.response(), ApiException.unavailable(
            "the agent of node \"" + node + "\" at " + endpoint + " cannot be reached: " + e.getMessage()))));
  }

  /**
   * Fails unless the agent's certificate names node {@code node}, so a log is never read from another
   * host, and is one of the node's current identity (not of a node since revoked, or that joined again).
   */
  private io.vertx.core.Future<Void> checkNode(io.vertx.core.http.HttpClientRequest req, String node) {
    try {
      var chain = req.connection().peerCertificates();
      var user = !chain.isEmpty() && chain.getFirst() instanceof java.security.cert.X509Certificate c
          ? ClientCertificates.of(c).filter(u -> u.name().equals("system:node:" + node)) : java.util.Optional.<dev.procurator.apiserver.auth.UserInfo>empty();
      if (user.isEmpty()) {
        req.reset();
        return io.vertx.core.Future.failedFuture("its certificate is not node " + node + "'s");
      }
      var nodes = identities;
      String refused = nodes == null ? null : nodes.refusal(user.get(), (java.security.cert.X509Certificate) chain.getFirst());
      if (refused != null) {
        req.reset();
        return io.vertx.core.Future.failedFuture(refused);
      }
      return io.vertx.core.Future.succeededFuture();
    } catch (Exception e) {
      req.reset();
      return io.vertx.core.Future.failedFuture("its certificate cannot be checked: " + e.getMessage());
    }
  }
}
