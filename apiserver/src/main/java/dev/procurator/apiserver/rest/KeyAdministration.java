package dev.procurator.apiserver.rest;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.procurator.apiserver.auth.UserInfo;
import dev.procurator.apiserver.encryption.KeyRotation;
import dev.procurator.apiserver.registry.ApiException;
import io.vertx.core.Context;
import io.vertx.core.Vertx;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import java.util.concurrent.ExecutorService;

/**
 * The administration of the keys Secrets are encrypted under at rest: {@code /encryption/status},
 * {@code /encryption/rotate} and {@code /encryption/retire?key=ID}, for members of
 * {@code system:masters} only. The work runs on the executor (a rotation reads every Secret);
 * answers are written on the request's context.
 */
final class KeyAdministration {
  private final Vertx vertx;
  private final ExecutorService executor;
  private volatile KeyRotation rotation;

  KeyAdministration(Vertx vertx, ExecutorService executor) {
    this.vertx = vertx;
    this.executor = executor;
  }

  /** Manages {@code r}'s keys; without one the routes answer 404. */
  void use(KeyRotation r) {
    this.rotation = r;
  }

  /** Adds the three routes to {@code router}, after authentication and the body handler. */
  void addRoutes(Router router) {
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
  }

  private interface RotationCall {
    Object call(KeyRotation r) throws Exception;
  }

  /** Key rotation, for members of {@code system:masters} only; off the event loop (it reads every Secret). */
  private void encryption(RoutingContext ctx, RotationCall call) {
    UserInfo user = ctx.get("user");
    if (user == null || !user.groups().contains("system:masters")) {
      Responses.fail(ctx.response(), ApiException.forbidden("only cluster admins (group system:masters) may manage encryption keys"));
      return;
    }
    var r = rotation;
    if (r == null) {
      Responses.fail(ctx.response(), ApiException.notFound("this server does not encrypt Secrets at rest"));
      return;
    }
    Context context = vertx.getOrCreateContext();
    executor.execute(() -> {
      try {
        JsonNode body = new ObjectMapper().valueToTree(call.call(r));
        context.runOnContext(v -> Responses.json(ctx.response(), 200, body));
      } catch (ApiException e) {
        context.runOnContext(v -> Responses.fail(ctx.response(), e));
      } catch (Exception e) {
        context.runOnContext(v -> Responses.fail(ctx.response(), ApiException.internal("key rotation failed: " + e.getMessage())));
      }
    });
  }
}
