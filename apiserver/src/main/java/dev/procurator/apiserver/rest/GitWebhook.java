package dev.procurator.apiserver.rest;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.procurator.api.v1alpha1.SecretSpec;
import dev.procurator.apiserver.registry.ApiException;
import dev.procurator.apiserver.registry.Json;
import dev.procurator.apiserver.registry.ResourceService;
import dev.procurator.apiserver.registry.WriteOptions;
import dev.procurator.apiserver.resource.ResourceRegistry;
import dev.procurator.apiserver.resource.ResourceType;
import io.vertx.core.Context;
import io.vertx.core.Vertx;
import io.vertx.ext.web.RoutingContext;
import java.security.InvalidKeyException;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Clock;
import java.util.HexFormat;
import java.util.concurrent.ExecutorService;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code POST /hooks/gitrepositories/NAMESPACE/NAME}: a git server's push notification. It carries
 * no bearer token; it is authenticated by an HMAC-SHA256 of its body under the {@code token} of the
 * Secret the GitRepository's {@code webhookSecretRef} names, in the header GitHub
 * ({@code X-Hub-Signature-256: sha256=HEX}), Gitea ({@code X-Gitea-Signature: HEX}) or Forgejo
 * ({@code X-Forgejo-Signature: HEX}) sends. A good call sets the GitRepository's
 * {@code procurator.dev/requestedAt} annotation, which starts a sync; anything else gets 401 and
 * changes nothing, without saying whether the GitRepository exists.
 */
final class GitWebhook {
  private static final Logger log = LoggerFactory.getLogger(GitWebhook.class);
  static final String PATH = "/hooks/gitrepositories/:namespace/:name";
  static final String REQUESTED_AT = "procurator.dev/requestedAt";
  static final int MAX_BODY_BYTES = 1 << 20;

  private final ResourceRegistry registry;
  private final ResourceService service;
  private final ExecutorService executor;
  private final Clock clock;

  GitWebhook(ResourceRegistry registry, ResourceService service, ExecutorService executor, Clock clock) {
    this.registry = registry;
    this.service = service;
    this.executor = executor;
    this.clock = clock;
  }

  void handle(RoutingContext ctx) {
    String ns = ctx.pathParam("namespace");
    String name = ctx.pathParam("name");
    byte[] body = ctx.body() == null || ctx.body().buffer() == null ? new byte[0] : ctx.body().buffer().getBytes();
    String github = ctx.request().getHeader("X-Hub-Signature-256");
    String gitea = ctx.request().getHeader("X-Gitea-Signature");
    String forgejo = ctx.request().getHeader("X-Forgejo-Signature");
    Context context = Vertx.currentContext();
    executor.execute(() -> {
      ApiException failure = null;
      try {
        requestSync(ns, name, body, github != null ? github : gitea != null ? gitea : forgejo);
      } catch (ApiException e) {
        failure = e;
      } catch (RuntimeException e) {
        log.warn("webhook for {}/{} failed: {}", ns, name, e.toString());
        failure = ApiException.unavailable("the sync could not be requested: " + e.getMessage());
      }
      ApiException f = failure;
      context.runOnContext(v -> {
        if (f != null) {
          Responses.fail(ctx.response(), f);
        } else {
          ObjectNode ok = Json.object();
          ok.put("kind", "Status").put("apiVersion", "v1").put("status", "Success").put("code", 202)
              .put("message", "a sync of gitrepository " + ns + "/" + name + " was requested");
          Responses.json(ctx.response(), 202, ok);
        }
      });
    });
  }

  private void requestSync(String ns, String name, byte[] body, String signature) {
    ApiException refused = ApiException.unauthorized("the webhook's signature does not match");
    if (signature == null || signature.isBlank()) {
      throw ApiException.unauthorized("the webhook call carries no X-Hub-Signature-256, X-Gitea-Signature or X-Forgejo-Signature header");
    }
    ResourceType repos = registry.find("procurator.dev", "v1alpha1", "gitrepositories").orElseThrow();
    ResourceType secrets = registry.find("procurator.dev", "v1alpha1", "secrets").orElseThrow();
    JsonNode repo;
    try {
      repo = service.get(repos, ns, name);
    } catch (ApiException e) {
      log.info("webhook for {}/{} refused: no such GitRepository", ns, name);
      throw refused;
    }
    String secretName = repo.path("spec").path("webhookSecretRef").path("name").asText("");
    if (secretName.isEmpty()) {
      log.info("webhook for {}/{} refused: the GitRepository has no webhookSecretRef", ns, name);
      throw refused;
    }
    byte[] token;
    try {
      token = token(service.get(secrets, ns, secretName));
    } catch (ApiException e) {
      log.info("webhook for {}/{} refused: Secret {} is missing", ns, name, secretName);
      throw refused;
    }
    if (token == null || !matches(token, body, signature)) {
      log.info("webhook for {}/{} refused: bad signature", ns, name);
      throw refused;
    }
    ObjectNode patch = Json.object();
    patch.putObject("metadata").putObject("annotations").put(REQUESTED_AT, clock.instant().toString());
    service.patch(repos, ns, name, "application/merge-patch+json", Json.bytes(patch), false,
        WriteOptions.of(false, null, "procurator-webhook", null, false));
  }

  private static byte[] token(JsonNode secret) {
    try {
      SecretSpec spec = Json.MAPPER.treeToValue(secret.path("spec"), SecretSpec.class);
      return spec == null ? null : spec.decoded().get("token");
    } catch (com.fasterxml.jackson.core.JsonProcessingException | IllegalArgumentException e) {
      return null;
    }
  }

  /** Whether {@code signature} ({@code sha256=HEX} or {@code HEX}) is the HMAC-SHA256 of {@code body} under {@code key}. */
  static boolean matches(byte[] key, byte[] body, String signature) {
    String hex = signature.trim();
    if (hex.startsWith("sha256=")) {
      hex = hex.substring("sha256=".length());
    }
    byte[] given;
    try {
      given = HexFormat.of().parseHex(hex.toLowerCase(java.util.Locale.ROOT));
    } catch (IllegalArgumentException e) {
      return false;
    }
    try {
      Mac mac = Mac.getInstance("HmacSHA256");
      mac.init(new SecretKeySpec(key, "HmacSHA256"));
      return MessageDigest.isEqual(mac.doFinal(body), given);
    } catch (NoSuchAlgorithmException | InvalidKeyException e) {
      return false;
    }
  }
}
