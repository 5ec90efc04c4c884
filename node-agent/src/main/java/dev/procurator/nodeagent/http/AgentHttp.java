package dev.procurator.nodeagent.http;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import io.vertx.core.Context;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.HttpServerResponse;
import dev.procurator.nodeagent.vm.ConsoleLog;
import io.fabric8.kubernetes.api.model.authorization.v1.SelfSubjectAccessReview;
import io.fabric8.kubernetes.api.model.authorization.v1.SelfSubjectAccessReviewBuilder;
import io.fabric8.kubernetes.client.Config;
import io.fabric8.kubernetes.client.ConfigBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.locks.LockSupport;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The agent's own HTTP endpoint: {@code GET /logs/NAMESPACE/NAME[?follow=true&tailLines=N]} streams a
 * VM's serial console (what the API server's {@code vms/log} proxies to), {@code GET /metrics} in
 * Prometheus text format, {@code GET /healthz}. Log requests must carry a bearer token that may
 * read the log through the API server ({@code get vms/log} or {@code builds/log}, asked by a
 * SelfSubjectAccessReview once a minute per token and VM); metrics need a bearer token that may
 * {@code get} the non-resource URL {@code /metrics} (ClusterRole {@code system:monitoring}), asked
 * the same way, as a kubelet's are guarded. Vert.x serves the requests; the blocking
 * parts (token checks, files) run on virtual threads, and a follower's thread ends when its
 * client goes away.
 */
public final class AgentHttp implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(AgentHttp.class);
  private static final Duration FOLLOW_POLL = Duration.ofMillis(100);

  private final Vertx vertx;
  private HttpServer server;
  private volatile Tls tls;

  /**
   * TLS for this endpoint, with a certificate of the cluster CA (the node's own serves: its
   * subject is {@code system:node:NAME}, which the API server checks). A client certificate of
   * the CA with subject {@code CN=}{@value #API_SERVER} is the API server, which authorized the
   * caller for {@code vms/log} before it asked; anyone else needs a bearer token that may read
   * the log ({@code vms/log}, {@code builds/log}).
   */
  public record Tls(String certPem, String keyPem, String caPem) {}

  /** The subject of the API server's client certificate. */
  public static final String API_SERVER = "procurator-apiserver";
  private final InetSocketAddress listen;
  private final ExecutorService blocking = Executors.newVirtualThreadPerTaskExecutor();
  private final Config apiConfig;
  private final Function<String, Path> workDir;
  private final Function<Path, ConsoleLog> consoleOf;
  private volatile Function<String, Path> buildDir = key -> null;
  private final PrometheusMeterRegistry metrics;
  private final Runnable beforeScrape;
  private final java.util.concurrent.atomic.AtomicInteger followers = new java.util.concurrent.atomic.AtomicInteger();
  private final Cache<String, Boolean> allowed = Caffeine.newBuilder().expireAfterWrite(Duration.ofMinutes(1)).maximumSize(10_000).build();

  /**
   * @param workDir the working directory of a VM key {@code namespace/name}
   * @param consoleOf the console log in a working directory
   * @param beforeScrape refreshes per-VM gauges before {@code /metrics} answers
   */
  public AgentHttp(InetSocketAddress listen, KubernetesClient api, Function<String, Path> workDir, Function<Path, ConsoleLog> consoleOf,
      PrometheusMeterRegistry metrics, Runnable beforeScrape) {
    this.listen = listen;
    this.apiConfig = api.getConfiguration();
    this.workDir = workDir;
    this.consoleOf = consoleOf;
    this.metrics = metrics;
    this.beforeScrape = beforeScrape;
    this.vertx = Vertx.vertx(new VertxOptions().setEventLoopPoolSize(1).setWorkerPoolSize(1).setInternalBlockingPoolSize(1));
    io.micrometer.core.instrument.Gauge.builder("procurator.agent.console.followers", followers, java.util.concurrent.atomic.AtomicInteger::get)
        .description("clients following a VM console").register(metrics);
  }

  /** Serves {@code GET /logs/builds/NAMESPACE/NAME}: the log of a Build's attempt on this node, in {@code buildDir(key)}. */
  public AgentHttp withBuildLogs(Function<String, Path> dirOfBuild) {
    this.buildDir = dirOfBuild;
    return this;
  }

  /** Serves TLS (set before {@link #start}). */
  public AgentHttp withTls(Tls t) {
    this.tls = t;
    return this;
  }

  /** A renewed certificate, for the handshakes from now on. */
  public void updateCertificate(String certPem, String keyPem) {
    Tls t = tls;
    if (t == null || server == null) {
      return;
    }
    tls = new Tls(certPem, keyPem, t.caPem());
    server.updateSSLOptions(new io.vertx.core.net.ServerSSLOptions().setKeyCertOptions(keyCert(certPem, keyPem))
        .setTrustOptions(trust(t.caPem())).setClientAuth(io.vertx.core.http.ClientAuth.REQUEST));
  }

  private static io.vertx.core.net.PemKeyCertOptions keyCert(String certPem, String keyPem) {
    return new io.vertx.core.net.PemKeyCertOptions().addCertValue(io.vertx.core.buffer.Buffer.buffer(certPem))
        .addKeyValue(io.vertx.core.buffer.Buffer.buffer(keyPem));
  }

  private static io.vertx.core.net.PemTrustOptions trust(String caPem) {
    return new io.vertx.core.net.PemTrustOptions().addCertValue(io.vertx.core.buffer.Buffer.buffer(caPem));
  }

  public AgentHttp start() throws IOException {
    io.vertx.core.http.HttpServerOptions options = new io.vertx.core.http.HttpServerOptions();
    Tls t = tls;
    if (t != null) {
      options.setSsl(true).setKeyCertOptions(keyCert(t.certPem(), t.keyPem())).setTrustOptions(trust(t.caPem()))
          .setClientAuth(io.vertx.core.http.ClientAuth.REQUEST);
    }
    server = vertx.createHttpServer(options).requestHandler(this::handle);
    try {
      server.listen(listen.getPort(), listen.getHostString()).toCompletionStage().toCompletableFuture().get();
    } catch (ExecutionException e) {
      throw new IOException("cannot listen on " + listen + ": " + e.getCause().getMessage(), e.getCause());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IOException("interrupted while starting to listen on " + listen);
    }
    return this;
  }

  /** The URL at which this endpoint answers, for the Node's {@code spec.agentEndpoint}. */
  public String url() {
    return (tls != null ? "https://" : "http://") + listen.getHostString() + ":" + server.actualPort();
  }

  private void handle(HttpServerRequest req) {
    String path = req.path();
    if (path.equals("/healthz")) {
      text(req.response(), 200, "ok\n");
    } else if (path.equals("/metrics")) {
      String auth = req.getHeader("Authorization");
      if (auth == null || !auth.regionMatches(true, 0, "Bearer ", 0, 7)) {
        text(req.response(), 401, "a bearer token that may get /metrics is required\n");
        return;
      }
      Context ctx = vertx.getOrCreateContext();
      blocking.execute(() -> {
        int denied = authorizeMetrics(auth.substring(7).trim());
        if (denied != 0) {
          ctx.runOnContext(v -> text(req.response(), denied, denied == 403 ? "this token may not get /metrics\n"
              : "the API server could not check the token\n"));
          return;
        }
        beforeScrape.run();
        String body = metrics.scrape();
        ctx.runOnContext(v -> req.response().putHeader("Content-Type", "text/plain; version=0.0.4; charset=utf-8").end(body));
      });
    } else if (path.startsWith("/logs/")) {
      logs(req);
    } else {
      text(req.response(), 404, "not found: " + path + "\n");
    }
  }

  private void logs(HttpServerRequest req) {
    HttpServerResponse resp = req.response();
    String[] parts = req.path().substring("/logs/".length()).split("/");
    boolean build = parts.length == 3 && parts[0].equals("builds");
    if (!build && parts.length != 2 || req.method() != HttpMethod.GET) {
      text(resp, 404, "use GET /logs/NAMESPACE/NAME or /logs/builds/NAMESPACE/NAME\n");
      return;
    }
    String ns = parts[build ? 1 : 0];
    String name = parts[build ? 2 : 1];
    String what = build ? "build" : "vm";
    String auth = req.getHeader("Authorization");
    boolean apiServer = fromApiServer(req);
    if (!apiServer && (auth == null || !auth.startsWith("Bearer "))) {
      text(resp, 401, "a bearer token, or the API server's client certificate, is required\n");
      return;
    }
    boolean follow = "true".equals(req.getParam("follow")) || "1".equals(req.getParam("follow"));
    int tail;
    try {
      tail = req.getParam("tailLines") == null ? -1 : Integer.parseInt(req.getParam("tailLines"));
    } catch (NumberFormatException e) {
      text(resp, 400, "tailLines must be a number\n");
      return;
    }
    Context ctx = vertx.getOrCreateContext();
    AtomicBoolean gone = new AtomicBoolean();
    resp.closeHandler(v -> gone.set(true));
    blocking.execute(() -> {
      int denied = apiServer ? 0 : authorize(auth.substring(7).trim(), build, ns, name);
      Path dir = build ? buildDir.apply(ns + "/" + name) : workDir.apply(ns + "/" + name);
      if (denied != 0) {
        String msg = denied == 404 ? what + " " + ns + "/" + name + " not found\n" : denied == 403
            ? "this token may not read " + what + " " + ns + "/" + name + "\n" : "the API server could not check the token\n";
        ctx.runOnContext(v -> text(resp, denied, msg));
      } else if (dir == null || !Files.isDirectory(dir)) {
        ctx.runOnContext(v -> text(resp, 404, what + " " + ns + "/" + name + " has not started on this node\n"));
      } else {
        ctx.runOnContext(v -> resp.setChunked(true).putHeader("Content-Type", "text/plain; charset=utf-8"));
        // a console is followed while the VM is here; a build log until its attempt is done
        java.util.function.BooleanSupplier over = build ? () -> Files.exists(dir.resolve("done")) : () -> !Files.isDirectory(dir);
        ConsoleLog source = build ? new ConsoleLog(dir.resolve("build.log"), dir.resolve("build.log.1")) : consoleOf.apply(dir);
        stream(resp, ctx, gone, source, over, follow, tail);
      }
    });
  }

  /** Whether the caller presented the API server's certificate, verified against the cluster CA by the handshake. */
  private boolean fromApiServer(HttpServerRequest req) {
    if (tls == null || !req.isSSL()) {
      return false;
    }
    try {
      var chain = req.connection().peerCertificates();
      return !chain.isEmpty() && chain.getFirst() instanceof java.security.cert.X509Certificate c
          && new javax.naming.ldap.LdapName(c.getSubjectX500Principal().getName()).getRdns().stream()
              .anyMatch(r -> r.getType().equalsIgnoreCase("CN") && API_SERVER.equals(r.getValue().toString()));
    } catch (javax.net.ssl.SSLPeerUnverifiedException | javax.naming.InvalidNameException e) {
      return false;
    }
  }

  /**
   * 0 when the token may read the log ({@code get} of {@code vms/log}, or {@code builds/log} for a
   * Build), else the HTTP status to answer. Asked of the API server as the caller, by a
   * SelfSubjectAccessReview: reading the VM or Build itself is not enough.
   */
  private int authorize(String token, boolean build, String ns, String name) {
    return review(token + (build ? " build " : " vm ") + ns + "/" + name, token, new SelfSubjectAccessReviewBuilder()
        .withNewSpec().withNewResourceAttributes().withVerb("get").withGroup("procurator.dev").withResource(build ? "builds" : "vms")
        .withSubresource("log").withNamespace(ns).withName(name).endResourceAttributes().endSpec().build(), "a log reader's");
  }

  /**
   * 0 when the token may read metrics ({@code get} on the non-resource URL {@code /metrics}, which
   * ClusterRole {@code system:monitoring} grants), else the HTTP status to answer. Asked of the API
   * server as the caller, by a SelfSubjectAccessReview, remembered for a minute per token.
   */
  private int authorizeMetrics(String token) {
    return review(token + " /metrics", token, new SelfSubjectAccessReviewBuilder()
        .withNewSpec().withNewNonResourceAttributes().withVerb("get").withPath("/metrics").endNonResourceAttributes().endSpec().build(),
        "a metrics reader's");
  }

  /** 0 when the API server says the token's holder may do what {@code review} asks, else the status to answer; remembered under {@code cacheKey}. */
  private int review(String cacheKey, String token, SelfSubjectAccessReview review, String whose) {
    Boolean ok = allowed.getIfPresent(cacheKey);
    if (ok != null) {
      return ok ? 0 : 403;
    }
    Config asCaller = new ConfigBuilder(apiConfig).withOauthToken(token).withUsername(null).withPassword(null).build();
    try (KubernetesClient caller = new KubernetesClientBuilder().withConfig(asCaller).build()) {
      SelfSubjectAccessReview answer = caller.authorization().v1().selfSubjectAccessReview().create(review);
      boolean may = answer.getStatus() != null && Boolean.TRUE.equals(answer.getStatus().getAllowed());
      allowed.put(cacheKey, may);
      return may ? 0 : 403;
    } catch (KubernetesClientException e) {
      if (e.getCode() == 401 || e.getCode() == 403) {
        allowed.put(cacheKey, false);
        return 403;
      }
      log.warn("checking {} token failed: {}", whose, e.getMessage());
      return 503;
    }
  }

  /** Writes the console (the tail, or all of it), then with {@code follow} what it gains, until the client goes or the VM does. */
  private void stream(HttpServerResponse resp, Context ctx, AtomicBoolean gone, ConsoleLog console, java.util.function.BooleanSupplier over,
      boolean follow, int tail) {
    Path current = console.current();
    long pos;
    RandomAccessFile open = null;
    followers.incrementAndGet();
    try {
      ByteArrayOutputStream first = new ByteArrayOutputStream();
      if (tail >= 0) {
        for (String l : console.lastLines(tail)) {
          first.write((l + "\n").getBytes(StandardCharsets.ISO_8859_1));
        }
        pos = Files.exists(current) ? Files.size(current) : 0;
      } else {
        if (Files.exists(console.previous())) {
          first.write(Files.readAllBytes(console.previous()));
        }
        pos = 0;
      }
      send(resp, ctx, first.toByteArray());
      // the console is read through an open handle: what the guest printed last (its power-off line)
      // is still there when the agent removes the VM's directory right after the machine exits
      Object openKey = null;
      while (!gone.get()) {
        if (Files.exists(current)) {
          Object key = Files.readAttributes(current, java.nio.file.attribute.BasicFileAttributes.class).fileKey();
          if (open == null || !key.equals(openKey)) {
            if (open != null) {
              pos = drain(open, pos, resp, ctx, Long.MAX_VALUE); // the rest of the boot before
              open.close();
              pos = 0; // a new boot
            }
            open = new RandomAccessFile(current.toFile(), "r");
            openKey = key;
          }
        }
        if (open != null) {
          if (open.length() < pos) {
            pos = 0; // the size cap cut the file
          }
          pos = drain(open, pos, resp, ctx, 1 << 20); // a MiB a round: a slow client is not flooded
        }
        if (!follow || over.getAsBoolean() && (open == null || open.length() <= pos)) {
          break;
        }
        LockSupport.parkNanos(FOLLOW_POLL.toNanos());
      }
    } catch (IOException e) {
      log.info("log stream of {} ended: {}", console.current(), e.getMessage());
    } finally {
      followers.decrementAndGet();
      if (open != null) {
        try {
          open.close();
        } catch (IOException ignored) {
          // nothing was written through it
        }
      }
    }
    ctx.runOnContext(v -> {
      if (!resp.ended() && !resp.closed()) {
        resp.end();
      }
    });
  }

  /** Sends what {@code f} holds past {@code pos}, up to {@code most} bytes; returns the new position. */
  private static long drain(RandomAccessFile f, long pos, HttpServerResponse resp, Context ctx, long most) throws IOException {
    long size = pos + Math.min(f.length() - pos, most); // (pos + most would overflow for "all of it")
    while (size > pos) {
      f.seek(pos);
      byte[] buf = new byte[(int) Math.min(size - pos, 1 << 20)];
      int n = f.read(buf);
      if (n <= 0) {
        break;
      }
      pos += n;
      send(resp, ctx, n == buf.length ? buf : java.util.Arrays.copyOf(buf, n));
    }
    return pos;
  }

  private static void send(HttpServerResponse resp, Context ctx, byte[] bytes) {
    if (bytes.length > 0) {
      ctx.runOnContext(v -> {
        if (!resp.closed()) {
          resp.write(Buffer.buffer(bytes));
        }
      });
    }
  }

  private static void text(HttpServerResponse resp, int code, String body) {
    resp.setStatusCode(code).putHeader("Content-Type", "text/plain; charset=utf-8").end(body);
  }

  @Override
  public void close() {
    blocking.shutdownNow();
    vertx.close().toCompletionStage().toCompletableFuture().join();
  }
}
