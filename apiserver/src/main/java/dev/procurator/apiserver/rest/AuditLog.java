package dev.procurator.apiserver.rest;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.procurator.api.files.PrivateFiles;
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
import java.time.Clock;
import java.time.Instant;
import java.util.List;
import java.util.UUID;

/**
 * The audit log: one JSON line per request, in the shape of Kubernetes' {@code audit.k8s.io/v1}
 * Event at level {@code Metadata} (who, from where, what, which object, the answer; never a body
 * or a credential, so never a Secret's bytes or a token). Every request about Secrets is logged,
 * reads included, as is every write and every key-management call; other reads when the policy
 * asks for all reads. The file is 0600 and rotated past a size, keeping a number of older files.
 * Lines go through a bounded buffer to one writer thread; when it is full the policy says what
 * happens: block (the request's own thread writes its line, so none is lost) or drop (the line
 * is counted, and the next written line says how many were dropped).
 */
public final class AuditLog implements AutoCloseable {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final org.slf4j.Logger log = org.slf4j.LoggerFactory.getLogger(AuditLog.class);
  private final Path file;
  private final dev.procurator.apiserver.ApiServerConfig.AuditPolicy policy;
  private final java.util.concurrent.BlockingQueue<String> buffer;
  private final java.util.concurrent.atomic.AtomicLong dropped = new java.util.concurrent.atomic.AtomicLong();
  private final Thread writer;
  private BufferedWriter out;
  private long size;
  private final Clock clock;

  public AuditLog(Path file, Clock clock) {
    this(file, dev.procurator.apiserver.ApiServerConfig.AuditPolicy.DEFAULT, clock);
  }

  public AuditLog(Path file, dev.procurator.apiserver.ApiServerConfig.AuditPolicy policy, Clock clock) {
    this(file, policy, clock, true);
  }

  /** {@code writing} false: no writer thread takes from the buffer (for tests of a full buffer). */
  AuditLog(Path file, dev.procurator.apiserver.ApiServerConfig.AuditPolicy policy, Clock clock, boolean writing) {
    this.clock = clock;
    this.file = file;
    this.policy = policy;
    this.buffer = new java.util.concurrent.ArrayBlockingQueue<>(Math.max(1, policy.buffer()));
    try {
      open();
    } catch (IOException e) {
      throw new UncheckedIOException("cannot open the audit log " + file + ": " + e.getMessage(), e);
    }
    writer = writing ? Thread.ofPlatform().name("audit-writer").daemon(true).start(this::drain) : null;
  }

  private void open() throws IOException {
    PrivateFiles.createDirectories(file.toAbsolutePath().getParent());
    PrivateFiles.createFile(file);
    size = Files.size(file);
    out = Files.newBufferedWriter(file, StandardCharsets.UTF_8, StandardOpenOption.APPEND);
  }

  /** Lines dropped because the buffer was full (the drop policy only). */
  public long dropped() {
    return dropped.get();
  }

  /** Whether a request is audited: anything about Secrets or keys, and every write; every read too when the policy asks. */
  boolean wanted(RoutingContext ctx) {
    String path = ctx.request().path();
    return policy.allReads() || ctx.request().method() != HttpMethod.GET || path.contains("/secrets") || path.startsWith("/encryption/");
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
    UserInfo acting = ctx.get("user");
    UserInfo impersonator = ctx.get(HttpApi.IMPERSONATOR);
    UserInfo user = impersonator != null ? impersonator : acting;
    ObjectNode u = e.putObject("user");
    u.put("username", user == null ? "system:anonymous" : user.name());
    var groups = u.putArray("groups");
    if (user != null) {
      user.groups().forEach(groups::add);
    }
    if (impersonator != null) {
      ObjectNode as = e.putObject("impersonatedUser");
      as.put("username", acting.name());
      acting.groups().forEach(as.putArray("groups")::add);
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
    long lost = dropped.get();
    if (lost > 0) {
      e.putObject("annotations").put("audit.procurator.dev/dropped-before", Long.toString(lost));
    }
    String line;
    try {
      line = JSON.writeValueAsString(e);
    } catch (IOException impossible) {
      return;
    }
    record(line);
  }

  /** Hands a line to the writer; when the buffer is full, as the policy says. */
  void record(String line) {
    if (!buffer.offer(line)) {
      if (policy.dropWhenFull()) {
        dropped.incrementAndGet();
      } else {
        append(List.of(line)); // block: this request writes its own line
      }
    }
  }

  /** The writer thread: takes what is buffered and appends it, a batch at a time. */
  private void drain() {
    List<String> batch = new java.util.ArrayList<>();
    while (true) {
      try {
        batch.add(buffer.take());
      } catch (InterruptedException stop) {
        buffer.drainTo(batch);
        append(batch);
        return;
      }
      buffer.drainTo(batch, 999);
      append(batch);
      batch.clear();
    }
  }

  private synchronized void append(List<String> lines) {
    if (out == null) {
      return;
    }
    try {
      for (String line : lines) {
        out.write(line);
        out.newLine();
        size += line.length() + 1;
      }
      out.flush();
      if (size >= policy.maxBytes()) {
        rotate();
      }
    } catch (IOException ex) {
      // a full disk must not take the API down; the next line tries again
      log.warn("writing the audit log {} failed: {}", file, ex.toString());
    }
  }

  /** audit.log becomes audit.log.1, .1 becomes .2 … up to the policy's number of backups; a fresh audit.log follows. */
  private void rotate() throws IOException {
    out.close();
    for (int i = policy.backups(); i >= 1; i--) {
      Path from = i == 1 ? file : file.resolveSibling(file.getFileName() + "." + (i - 1));
      Path to = file.resolveSibling(file.getFileName() + "." + i);
      if (Files.exists(from)) {
        Files.move(from, to, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
      }
    }
    if (policy.backups() == 0) {
      Files.delete(file);
    }
    open();
  }

  @Override
  public void close() {
    if (writer != null) {
      writer.interrupt();
      try {
        writer.join(5_000);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
    synchronized (this) {
      try {
        if (out != null) {
          out.close();
        }
      } catch (IOException ignored) {
        // closing
      }
      out = null;
    }
  }
}
