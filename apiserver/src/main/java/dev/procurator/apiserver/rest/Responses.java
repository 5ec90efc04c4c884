package dev.procurator.apiserver.rest;

import com.fasterxml.jackson.databind.JsonNode;
import dev.procurator.apiserver.registry.ApiException;
import dev.procurator.apiserver.registry.Json;
import dev.procurator.apiserver.storage.StorageException;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.ext.web.RoutingContext;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The one place failures become HTTP: an {@link ApiException} is answered with its code and
 * Kubernetes {@code Status} body, anything else is logged and answered as an internal error
 * that names no detail. Also writes the JSON bodies of every answer.
 *
 * <p>Stateless; call on the request's event loop.
 */
final class Responses {
  // under the name the server has always logged failures with, so filters on it keep working
  private static final Logger log = LoggerFactory.getLogger(HttpApi.class);

  private Responses() {}

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

  /** Answers {@code reply} with its warnings as {@code Warning} headers. */
  static void send(RoutingContext ctx, Reply reply) {
    reply.warnings().forEach(w -> ctx.response().headers().add("Warning", "299 - \"" + w.replace("\"", "\\\"") + "\""));
    bytes(ctx.response(), reply.code(), reply.body());
  }

  /** What the client is told of a failure the server cannot blame on it; the log has the details. */
  static ApiException internalError() {
    return ApiException.internal("an internal error occurred; the server log has the details");
  }

  /** The client's view of a failure; anything but an ApiException is logged and answered as an internal error. */
  static ApiException apiError(RoutingContext ctx, RuntimeException e) {
    return switch (e) {
      case ApiException api -> api;
      case StorageException s -> ApiException.unavailable("storage failed: " + s.getMessage());
      default -> {
        log.error("request {} {} failed", ctx.request().method(), ctx.request().uri(), e);
        yield internalError();
      }
    };
  }

  /** The router's failure handler: what a handler threw, or a status Vert.x set (a body over {@code maxBodyBytes}: 413). */
  static void failure(RoutingContext ctx, int maxBodyBytes) {
    Throwable t = ctx.failure();
    int code = ctx.statusCode();
    if (t instanceof ApiException e) {
      fail(ctx.response(), e);
    } else if (code == 413) {
      fail(ctx.response(), ApiException.tooLarge("the request body is larger than " + maxBodyBytes + " bytes"));
    } else if (code > 0 && code < 500) {
      fail(ctx.response(), new ApiException(code, "BadRequest", "the request could not be served (" + code + ")", null));
    } else {
      log.error("request {} {} failed", ctx.request().method(), ctx.request().path(), t);
      fail(ctx.response(), internalError());
    }
  }
}
