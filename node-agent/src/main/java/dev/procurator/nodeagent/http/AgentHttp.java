package dev.procurator.nodeagent.http;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import dev.procurator.api.v1alpha1.VM;
import dev.procurator.nodeagent.vm.ConsoleLog;
import io.fabric8.kubernetes.client.Config;
import io.fabric8.kubernetes.client.ConfigBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.io.IOException;
import java.io.OutputStream;
import java.io.RandomAccessFile;
import java.net.InetSocketAddress;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Executors;
import java.util.concurrent.locks.LockSupport;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The agent's own HTTP endpoint: {@code GET /logs/NAMESPACE/NAME[?follow=true&tailLines=N]} streams a
 * VM's serial console (what the API server's {@code vms/log} proxies to), {@code GET /metrics} in
 * Prometheus text format, {@code GET /healthz}. Log requests must carry a bearer token that may
 * read the VM through the API server (checked once a minute per token and VM); metrics are open, as
 * a kubelet's usually are to the scraper on the host. One virtual thread per request.
 */
public final class AgentHttp implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(AgentHttp.class);
  private static final Duration FOLLOW_POLL = Duration.ofMillis(100);

  private final HttpServer server;
  private final Config apiConfig;
  private final Function<String, Path> workDir;
  private final Function<Path, ConsoleLog> consoleOf;
  private final PrometheusMeterRegistry metrics;
  private final Runnable beforeScrape;
  private final Cache<String, Boolean> allowed = Caffeine.newBuilder().expireAfterWrite(Duration.ofMinutes(1)).maximumSize(10_000).build();

  /**
   * @param workDir the working directory of a VM key {@code namespace/name}
   * @param consoleOf the console log in a working directory
   * @param beforeScrape refreshes per-VM gauges before {@code /metrics} answers
   */
  public AgentHttp(InetSocketAddress listen, KubernetesClient api, Function<String, Path> workDir, Function<Path, ConsoleLog> consoleOf,
      PrometheusMeterRegistry metrics, Runnable beforeScrape) throws IOException {
    this.apiConfig = api.getConfiguration();
    this.workDir = workDir;
    this.consoleOf = consoleOf;
    this.metrics = metrics;
    this.beforeScrape = beforeScrape;
    this.server = HttpServer.create(listen, 64);
    server.setExecutor(Executors.newVirtualThreadPerTaskExecutor());
    server.createContext("/healthz", ex -> text(ex, 200, "ok\n"));
    server.createContext("/metrics", this::metrics);
    server.createContext("/logs/", this::logs);
  }

  public AgentHttp start() {
    server.start();
    return this;
  }

  /** The URL at which this endpoint answers, for the Node's {@code spec.agentEndpoint}. */
  public String url() {
    InetSocketAddress a = server.getAddress();
    return "http://" + a.getHostString() + ":" + a.getPort();
  }

  private void metrics(HttpExchange ex) throws IOException {
    beforeScrape.run();
    byte[] body = metrics.scrape().getBytes(StandardCharsets.UTF_8);
    ex.getResponseHeaders().set("Content-Type", "text/plain; version=0.0.4; charset=utf-8");
    ex.sendResponseHeaders(200, body.length);
    try (OutputStream out = ex.getResponseBody()) {
      out.write(body);
    }
  }

  private void logs(HttpExchange ex) throws IOException {
    try (ex) {
      String[] parts = ex.getRequestURI().getPath().substring("/logs/".length()).split("/");
      if (parts.length != 2 || !"GET".equals(ex.getRequestMethod())) {
        text(ex, 404, "use GET /logs/NAMESPACE/NAME\n");
        return;
      }
      String ns = parts[0];
      String name = parts[1];
      String auth = ex.getRequestHeaders().getFirst("Authorization");
      if (auth == null || !auth.startsWith("Bearer ")) {
        text(ex, 401, "a bearer token is required\n");
        return;
      }
      int denied = authorize(auth.substring(7).trim(), ns, name);
      if (denied != 0) {
        text(ex, denied, denied == 404 ? "vm " + ns + "/" + name + " not found\n" : "this token may not read vm " + ns + "/" + name + "\n");
        return;
      }
      Path dir = workDir.apply(ns + "/" + name);
      if (!Files.isDirectory(dir)) {
        text(ex, 404, "vm " + ns + "/" + name + " has not started on this node\n");
        return;
      }
      Map<String, String> q = query(ex.getRequestURI().getRawQuery());
      boolean follow = "true".equals(q.get("follow")) || "1".equals(q.get("follow"));
      int tail = -1;
      if (q.containsKey("tailLines")) {
        try {
          tail = Integer.parseInt(q.get("tailLines"));
        } catch (NumberFormatException e) {
          text(ex, 400, "tailLines must be a number\n");
          return;
        }
      }
      stream(ex, consoleOf.apply(dir), dir, follow, tail);
    }
  }

  /** 0 when the token may read the VM, else the HTTP status to answer. */
  private int authorize(String token, String ns, String name) {
    String cacheKey = token + " " + ns + "/" + name;
    Boolean ok = allowed.getIfPresent(cacheKey);
    if (ok != null) {
      return ok ? 0 : 403;
    }
    Config asCaller = new ConfigBuilder(apiConfig).withOauthToken(token).withUsername(null).withPassword(null).build();
    try (KubernetesClient caller = new KubernetesClientBuilder().withConfig(asCaller).build()) {
      VM vm = caller.resources(VM.class).inNamespace(ns).withName(name).get();
      if (vm == null) {
        return 404;
      }
      allowed.put(cacheKey, true);
      return 0;
    } catch (KubernetesClientException e) {
      if (e.getCode() == 401 || e.getCode() == 403) {
        allowed.put(cacheKey, false);
        return 403;
      }
      log.warn("checking a log reader's token failed: {}", e.getMessage());
      return 503;
    }
  }

  private void stream(HttpExchange ex, ConsoleLog console, Path dir, boolean follow, int tail) throws IOException {
    ex.getResponseHeaders().set("Content-Type", "text/plain; charset=utf-8");
    ex.sendResponseHeaders(200, 0);
    OutputStream out = ex.getResponseBody();
    Path current = console.current();
    long pos;
    if (tail >= 0) {
      List<String> lines = console.lastLines(tail);
      for (String l : lines) {
        out.write((l + "\n").getBytes(StandardCharsets.ISO_8859_1));
      }
      pos = Files.exists(current) ? Files.size(current) : 0;
    } else {
      if (Files.exists(console.previous())) {
        Files.copy(console.previous(), out);
      }
      pos = 0;
    }
    out.flush();
    Object fileKey = null;
    while (true) {
      if (Files.exists(current)) {
        Object key = Files.readAttributes(current, java.nio.file.attribute.BasicFileAttributes.class).fileKey();
        long size = Files.size(current);
        if (fileKey != null && !fileKey.equals(key) || size < pos) {
          pos = 0; // a new boot, or the size cap cut the file
        }
        fileKey = key;
        if (size > pos) {
          try (RandomAccessFile f = new RandomAccessFile(current.toFile(), "r")) {
            f.seek(pos);
            byte[] buf = new byte[64 * 1024];
            int n;
            while ((n = f.read(buf)) > 0) {
              out.write(buf, 0, n);
              pos += n;
            }
          }
          out.flush();
        }
      }
      if (!follow || !Files.isDirectory(dir)) {
        return;
      }
      LockSupport.parkNanos(FOLLOW_POLL.toNanos());
    }
  }

  private static Map<String, String> query(String raw) {
    Map<String, String> q = new HashMap<>();
    if (raw != null) {
      for (String kv : raw.split("&")) {
        int eq = kv.indexOf('=');
        if (eq > 0) {
          q.put(URLDecoder.decode(kv.substring(0, eq), StandardCharsets.UTF_8), URLDecoder.decode(kv.substring(eq + 1), StandardCharsets.UTF_8));
        }
      }
    }
    return q;
  }

  private static void text(HttpExchange ex, int code, String body) throws IOException {
    byte[] b = body.getBytes(StandardCharsets.UTF_8);
    ex.getResponseHeaders().set("Content-Type", "text/plain; charset=utf-8");
    ex.sendResponseHeaders(code, b.length);
    try (OutputStream out = ex.getResponseBody()) {
      out.write(b);
    }
  }

  @Override
  public void close() {
    server.stop(0);
  }
}
