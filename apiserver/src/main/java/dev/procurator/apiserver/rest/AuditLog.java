package dev.procurator.apiserver.rest;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.procurator.apiserver.auth.UserInfo;
import io.vertx.core.http.HttpMethod;
import io.vertx.ext.web.RoutingContext;
import java.io.BufferedWriter;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Clock;
import java.time.Instant;
import java.util.UUID;

/**
 * The audit log: one JSON line per request, in the shape of Kubernetes' {@code audit.k8s.io/v1}
 * Event at level {@code Metadata} (who, what, which object, the answer; never a body, so never a
 * Secret's bytes). Every request about Secrets is logged, reads included, as is every write and
 * every key-management call; reads of other kinds are not. The file is 0600, appended to, and
 * flushed per line.
 */
public final class AuditLog implements AutoCloseable {
  private static final ObjectMapper JSON = new ObjectMapper();
  private final BufferedWriter out;
  private final Clock clock;

  public AuditLog(Path file, Clock clock) {
    this.clock = clock;
    try {
      Files.createDirectories(file.toAbsolutePath().getParent());
      if (!Files.exists(file)) {
        Files.createFile(file, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
      }
      this.out = Files.newBufferedWriter(file, StandardCharsets.UTF_8, StandardOpenOption.APPEND);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot open the audit log " + file + ": " + e.getMessage(), e);
    }
  }

  /** Whether a request is audited: anything about Secrets or keys, and every write. */
  static boolean wanted(RoutingContext ctx) {
    String path = ctx.request().path();
    return ctx.request().method() != HttpMethod.GET || path.contains("/secrets") || path.startsWith("/encryption/");
  }

  /** Logs the request once its answer is sent. */
  void watch(RoutingContext ctx) {
    Instant received = clock.instant();
    String id = UUID.randomUUID().toString();
    ctx.addEndHandler(v -> write(ctx, received, id));
  }

  private void write(RoutingContext ctx, Instant received, String id) {
    ObjectNode e = JSON.createObjectNode();
    e.put("kind", "Event").put("apiVersion", "audit.k8s.io/v1").put("level", "Metadata").put("auditID", id).put("stage", "ResponseComplete");
    e.put("requestURI", ctx.request().uri());
    String method = ctx.request().method().name();
    RequestTarget target = null;
    try {
      target = RequestTarget.parse(ctx.request().path());
    } catch (RuntimeException notAResource) {
      // /encryption/…, or a path that is no resource: the URI says what it was
    }
    boolean named = target != null && target.name() != null;
    boolean watchParam = "true".equals(ctx.request().getParam("watch")) || "1".equals(ctx.request().getParam("watch"));
    String verb = switch (method) {
      case "GET" -> watchParam ? "watch" : named ? "get" : "list";
      case "POST" -> "create";
      case "PUT" -> "update";
      case "PATCH" -> "patch";
      case "DELETE" -> named ? "delete" : "deletecollection";
      default -> method.toLowerCase(java.util.Locale.ROOT);
    };
    e.put("verb", verb);
    UserInfo user = ctx.get("user");
    ObjectNode u = e.putObject("user");
    u.put("username", user == null ? "system:anonymous" : user.name());
    var groups = u.putArray("groups");
    if (user != null) {
      user.groups().forEach(groups::add);
    }
    e.putArray("sourceIPs").add(ctx.request().remoteAddress() == null ? "" : ctx.request().remoteAddress().hostAddress());
    if (ctx.request().getHeader("User-Agent") != null) {
      e.put("userAgent", ctx.request().getHeader("User-Agent"));
    }
    if (target != null && target.resource() != null) {
      ObjectNode ref = e.putObject("objectRef");
      ref.put("resource", target.resource());
      if (target.namespace() != null) {
        ref.put("namespace", target.namespace());
      }
      if (target.name() != null) {
        ref.put("name", target.name());
      }
      ref.put("apiGroup", target.group()).put("apiVersion", target.version());
      if (target.subresource() != null) {
        ref.put("subresource", target.subresource());
      }
    }
    e.putObject("responseStatus").put("code", ctx.response().getStatusCode());
    e.put("requestReceivedTimestamp", received.toString()).put("stageTimestamp", clock.instant().toString());
    String line;
    try {
      line = JSON.writeValueAsString(e);
    } catch (IOException impossible) {
      return;
    }
    synchronized (out) {
      try {
        out.write(line);
        out.newLine();
        out.flush();
      } catch (IOException ignored) {
        // a full disk must not take the API down; the next line tries again
      }
    }
  }

  @Override
  public void close() {
    synchronized (out) {
      try {
        out.close();
      } catch (IOException ignored) {
        // closing
      }
    }
  }
}
