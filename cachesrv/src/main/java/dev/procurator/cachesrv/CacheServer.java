package dev.procurator.cachesrv;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import com.github.benmanes.caffeine.cache.Expiry;
import dev.procurator.api.nix.ClosureNames;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Timer;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.Base64;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The Nix HTTP binary cache protocol as nix 2.8 speaks it: {@code nix-cache-info}, narinfos,
 * NARs and build logs, with GET, HEAD and PUT; besides, pins and closure names ({@code /names},
 * the contract {@link ClosureNames} is the client of). Uploads are checked before they are served (a NAR
 * must hash to its file name; a narinfo must match its NAR's hash and size), a stored path is never
 * replaced (the same content again is fine, other content is 409 Conflict), narinfos are signed
 * with the server's key when served, and every request is authorised by a token sent as the Basic
 * password (the only credential nix 2.8 sends).
 *
 * <p>This class routes, authorises and serves reads; {@link CacheUploads} checks and stores what
 * is written. A PUT is never answered with a 5xx for a client's mistake: nix retries a 5xx PUT
 * without its body and waits forever.
 */
public final class CacheServer implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(CacheServer.class);
  private static final Pattern NARINFO = Pattern.compile("/([0-9a-df-np-sv-z]{32})\\.narinfo");
  private static final Pattern NAR = Pattern.compile("/nar/(([0-9a-df-np-sv-z]{52})\\.nar(\\.xz|\\.zst|\\.bz2|\\.br)?)");
  private static final Pattern LOG = Pattern.compile("/log/([0-9a-df-np-sv-z]{32}-[A-Za-z0-9+\\-._?=]+)");

  /** What a token may do. */
  public enum Access { READ, WRITE }

  /**
   * @param tokens token to access; WRITE implies READ
   * @param anonymousRead whether GET and HEAD need no token
   * @param maxBytes size cap of narinfos and NARs together; 0 for none
   */
  public record Config(String host, int port, Path dir, SigningKey key, Map<String, Access> tokens, boolean anonymousRead,
      int priority, long maxBytes, BlobStore store) {
    public Config(String host, int port, Path dir, SigningKey key, Map<String, Access> tokens, boolean anonymousRead, int priority) {
      this(host, port, dir, key, tokens, anonymousRead, priority, 0, null);
    }

    public Config(String host, int port, Path dir, SigningKey key, Map<String, Access> tokens, boolean anonymousRead, int priority,
        long maxBytes) {
      this(host, port, dir, key, tokens, anonymousRead, priority, maxBytes, null);
    }
  }

  private static final Pattern PIN = Pattern.compile("/pins/([0-9a-df-np-sv-z]{32})[^/]*");
  private static final Pattern NAMED = Pattern.compile("/names/([^/]+)");

  private final Config config;
  private final BlobStore store;
  private final Retention retention;
  private final Names names;
  /** Signed narinfo text by hash part; an empty value remembers that a path is absent. */
  private final Cache<String, Optional<String>> narinfos = Caffeine.newBuilder()
      .maximumSize(100_000)
      .expireAfter(Expiry.<String, Optional<String>>writing((k, v) -> v.isPresent() ? Duration.ofHours(1) : Duration.ofSeconds(30)))
      .build();
  private final PrometheusMeterRegistry metrics = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
  private final Counter hits;
  private final Counter misses;
  private final Counter bytesServed;
  private final Counter bytesReceived;
  private Vertx vertx;
  private CacheUploads uploads;
  private HttpServer http;

  public CacheServer(Config config) throws IOException {
    this.config = config;
    this.store = config.store() != null ? config.store() : new FileStore(config.dir());
    Files.createDirectories(store.scratch());
    this.retention = new Retention(store, config.maxBytes(), narinfos::invalidate);
    this.names = new Names(store, retention);
    hits = metrics.counter("cache_narinfo_hits");
    misses = metrics.counter("cache_narinfo_misses");
    bytesServed = metrics.counter("cache_served_bytes");
    bytesReceived = metrics.counter("cache_received_bytes");
    metrics.gauge("cache_objects", retention, Retention::objects);
    metrics.gauge("cache_stored_bytes", retention, Retention::totalBytes);
    metrics.gauge("cache_max_bytes", config, c -> c.maxBytes());
    metrics.gauge("cache_names", names, Names::size);
    FunctionCounter.builder("cache_evictions", retention, Retention::evictions).register(metrics);
  }

  public Retention retention() {
    return retention;
  }

  public CacheServer start() {
    vertx = Vertx.vertx();
    uploads = new CacheUploads(vertx, store, retention, narinfos::invalidate, bytesReceived);
    http = vertx.createHttpServer(new HttpServerOptions().setHost(config.host()).setPort(config.port())
            .setHandle100ContinueAutomatically(true).setIdleTimeout(120))
        .requestHandler(router())
        .listen().await();
    log.info("binary cache listening on http://{}:{} ({}), key {}", config.host(), http.actualPort(), config.dir(),
        config.key().publicText());
    return this;
  }

  public int port() {
    return http.actualPort();
  }

  public String url() {
    return "http://" + config.host() + ":" + port();
  }

  public BlobStore store() {
    return store;
  }

  // ---- dispatch ----

  /**
   * The cache's routes. Every request is timed, then checked: reads need a token unless anonymous
   * reads are on ({@code /metrics} needs one always), writes need a write token. Each route is one kind of cache object.
   */
  private Router router() {
    Router router = Router.router(vertx);
    router.route().handler(this::admit);
    router.route("/metrics").method(HttpMethod.GET).method(HttpMethod.HEAD).handler(ctx -> {
      ctx.response().putHeader("Content-Type", "text/plain; version=0.0.4; charset=utf-8");
      send(ctx.request(), metrics.scrape());
    });
    router.route("/pins").method(HttpMethod.GET).method(HttpMethod.HEAD)
        .handler(ctx -> send(ctx.request(), String.join("\n", retention.pins()) + "\n"));
    router.routeWithRegex(PIN.pattern()).method(HttpMethod.PUT).method(HttpMethod.DELETE)
        .handler(ctx -> uploads.pin(ctx.request(), ctx.pathParam("param0")));
    router.route("/names").method(HttpMethod.GET).method(HttpMethod.HEAD).handler(ctx -> {
      StringBuilder body = new StringBuilder();
      names.all().forEach((n, p) -> body.append(n).append(' ').append(p).append('\n'));
      ctx.response().putHeader("Content-Type", "text/plain; charset=utf-8");
      send(ctx.request(), body.toString());
    });
    router.routeWithRegex(NAMED.pattern()).method(HttpMethod.GET).method(HttpMethod.HEAD).handler(ctx -> {
      String name = ctx.pathParam("param0");
      Optional<String> path = ClosureNames.validName(name) ? names.get(name) : Optional.empty();
      if (path.isEmpty()) {
        text(ctx.response(), 404, "no closure is named " + name);
        return;
      }
      ctx.response().putHeader("Content-Type", "text/plain; charset=utf-8");
      send(ctx.request(), path.get() + "\n");
    });
    router.routeWithRegex(NAMED.pattern()).method(HttpMethod.PUT).method(HttpMethod.DELETE)
        .handler(ctx -> uploads.name(ctx.request(), names, ctx.pathParam("param0"), externalUrl(ctx.request())));
    router.route("/nix-cache-info").method(HttpMethod.GET).method(HttpMethod.HEAD).handler(ctx -> {
      ctx.response().putHeader("Content-Type", "text/x-nix-cache-info");
      send(ctx.request(), "StoreDir: " + NarInfo.STORE_DIR + "\nWantMassQuery: 1\nPriority: " + config.priority() + "\n");
    });
    // nix copy writes nix-cache-info first; the cache's own stays as it is
    router.route("/nix-cache-info").method(HttpMethod.PUT).handler(ctx -> uploads.boundedBody(ctx.request(), CacheUploads.MAX_SMALL_BODY)
        .onComplete(ar -> uploads.answer(ctx.request(), ar, "nix-cache-info")));
    router.routeWithRegex(NARINFO.pattern()).method(HttpMethod.GET).method(HttpMethod.HEAD)
        .handler(ctx -> getNarInfo(ctx.request(), ctx.pathParam("param0")));
    router.routeWithRegex(NARINFO.pattern()).method(HttpMethod.PUT).handler(ctx -> uploads.putNarInfo(ctx.request(), ctx.pathParam("param0")));
    router.routeWithRegex(NAR.pattern()).method(HttpMethod.GET).method(HttpMethod.HEAD)
        .handler(ctx -> sendFile(ctx.request(), "nar/" + ctx.pathParam("param0"), "application/x-nix-nar"));
    router.routeWithRegex(NAR.pattern()).method(HttpMethod.PUT)
        .handler(ctx -> uploads.putNar(ctx.request(), ctx.pathParam("param0"), ctx.pathParam("param1")));
    router.routeWithRegex(LOG.pattern()).method(HttpMethod.GET).method(HttpMethod.HEAD)
        .handler(ctx -> sendFile(ctx.request(), "log/" + ctx.pathParam("param0"), "text/plain; charset=utf-8"));
    router.routeWithRegex(LOG.pattern()).method(HttpMethod.PUT).handler(ctx -> uploads.putLog(ctx.request(), ctx.pathParam("param0")));
    router.route().handler(ctx -> {
      HttpServerRequest req = ctx.request();
      boolean read = req.method() == HttpMethod.GET || req.method() == HttpMethod.HEAD;
      if (!read) {
        uploads.boundedBody(req, CacheUploads.MAX_SMALL_BODY).onComplete(b -> {
          if (b.failed()) {
            uploads.answer(req, b, req.path());
          } else {
            text(req.response(), 404, "no such cache object: " + req.path());
          }
        });
      } else {
        text(req.response(), 404, "no such cache object: " + req.path());
      }
    });
    return router;
  }

  /** Times the request, and lets it on only with the method and token its kind of request needs. */
  private void admit(RoutingContext ctx) {
    HttpServerRequest req = ctx.request();
    long started = System.nanoTime();
    req.response().endHandler(v -> Timer.builder("cache_request")
        .tag("method", req.method().name()).tag("status", Integer.toString(req.response().getStatusCode()))
        .publishPercentileHistogram().register(metrics).record(System.nanoTime() - started, TimeUnit.NANOSECONDS));
    HttpMethod m = req.method();
    boolean read = m == HttpMethod.GET || m == HttpMethod.HEAD;
    boolean delete = m == HttpMethod.DELETE && (req.path().startsWith("/pins/") || req.path().startsWith("/names/"));
    if (!read && m != HttpMethod.PUT && !delete) {
      req.response().putHeader("Allow", "GET, HEAD, PUT");
      text(req.response(), 405, "method not allowed");
      return;
    }
    Optional<Access> access = authenticate(req.getHeader("Authorization"));
    // what the cache holds and serves is told only to a token's holder, even when paths are open to all
    boolean open = config.anonymousRead() && !req.path().equals("/metrics");
    if (read && !open && access.isEmpty()) {
      unauthorized(req);
      return;
    }
    if (!read) {
      if (access.isEmpty()) {
        unauthorized(req);
        return;
      }
      if (access.get() != Access.WRITE) {
        text(req.response(), 403, "this token may read but not write");
        return;
      }
    }
    ctx.next();
  }

  /** The cache's URL as the client reached it (its Host header), for messages that tell it what to run. */
  private String externalUrl(HttpServerRequest req) {
    String host = req.getHeader("Host");
    return host == null || host.isBlank() ? url() : req.scheme() + "://" + host;
  }

  private Optional<Access> authenticate(String header) {
    if (header == null || !header.regionMatches(true, 0, "Basic ", 0, 6)) {
      return Optional.empty();
    }
    String decoded;
    try {
      decoded = new String(Base64.getDecoder().decode(header.substring(6).trim()), StandardCharsets.UTF_8);
    } catch (IllegalArgumentException e) {
      return Optional.empty();
    }
    byte[] given = decoded.substring(decoded.indexOf(':') + 1).getBytes(StandardCharsets.UTF_8);
    Access found = null;
    for (Map.Entry<String, Access> e : config.tokens().entrySet()) {
      if (MessageDigest.isEqual(given, e.getKey().getBytes(StandardCharsets.UTF_8)) && found == null) {
        found = e.getValue();
      }
    }
    return Optional.ofNullable(found);
  }

  private static void unauthorized(HttpServerRequest req) {
    req.response().putHeader("WWW-Authenticate", "Basic realm=\"procurator cache\"");
    text(req.response(), 401, "a valid token is required (as the Basic password)");
  }

  /** A plain-text answer, unless one was sent already. */
  static void text(HttpServerResponse r, int code, String body) {
    if (!r.ended()) {
      r.setStatusCode(code).putHeader("Content-Type", "text/plain; charset=utf-8").end(body + "\n");
    }
  }

  private static void send(HttpServerRequest req, String body) {
    Buffer b = Buffer.buffer(body);
    if (req.method() == HttpMethod.HEAD) {
      req.response().putHeader("Content-Length", Integer.toString(b.length())).end();
    } else {
      req.response().end(b);
    }
  }

  // ---- reads ----

  private void getNarInfo(HttpServerRequest req, String hash) {
    Optional<String> cached = narinfos.getIfPresent(hash);
    Future<Optional<String>> text = cached != null ? Future.succeededFuture(cached) : vertx.executeBlocking(() -> {
      byte[] stored = store.read(Retention.narinfoKey(hash));
      Optional<String> signed = Optional.empty();
      if (stored != null) {
        NarInfo info = NarInfo.parse(new String(stored, StandardCharsets.UTF_8));
        signed = Optional.of(info.withSig(config.key().sign(info.fingerprint())).render());
      }
      narinfos.put(hash, signed);
      return signed;
    }, false);
    text.onComplete(ar -> {
      if (ar.failed()) {
        log.error("reading narinfo {}", hash, ar.cause());
        text(req.response(), 500, "cannot read the narinfo");
      } else if (ar.result().isEmpty()) {
        misses.increment();
        text(req.response(), 404, "no such path in this cache");
      } else {
        hits.increment();
        retention.used(hash);
        req.response().putHeader("Content-Type", "text/x-nix-narinfo");
        bytesServed.increment(ar.result().get().length());
        send(req, ar.result().get());
      }
    });
  }

  private void sendFile(HttpServerRequest req, String key, String type) {
    vertx.executeBlocking(() -> store.size(key), false).onComplete(ar -> {
      long size = ar.succeeded() ? ar.result() : -1;
      if (size < 0) {
        text(req.response(), 404, "no such file in this cache");
        return;
      }
      HttpServerResponse r = req.response().putHeader("Content-Type", type).putHeader("Accept-Ranges", "bytes");
      long start = 0;
      long end = size - 1;
      String range = req.getHeader("Range");
      if (range != null) {
        Matcher m = Pattern.compile("bytes=(\\d*)-(\\d*)").matcher(range.trim());
        if (!m.matches() || (m.group(1).isEmpty() && m.group(2).isEmpty())) {
          r.putHeader("Content-Range", "bytes */" + size);
          text(r, 416, "unsupported range");
          return;
        }
        if (m.group(1).isEmpty()) {
          start = Math.max(0, size - Long.parseLong(m.group(2)));
        } else {
          start = Long.parseLong(m.group(1));
          if (!m.group(2).isEmpty()) {
            end = Math.min(end, Long.parseLong(m.group(2)));
          }
        }
        if (start > end || start >= size) {
          r.putHeader("Content-Range", "bytes */" + size);
          text(r, 416, "range not satisfiable");
          return;
        }
        r.setStatusCode(206).putHeader("Content-Range", "bytes " + start + "-" + end + "/" + size);
      }
      long length = end - start + 1;
      if (req.method() == HttpMethod.HEAD) {
        r.putHeader("Content-Length", Long.toString(length)).end();
        return;
      }
      bytesServed.increment(length);
      Path local = store.localFile(key);
      if (local != null) {
        r.sendFile(local.toString(), start, length);
      } else {
        stream(r, key, start, length);
      }
    });
  }

  /** Copies a remote object to the response, one chunk at a time, each written before the next is read. */
  private void stream(HttpServerResponse r, String key, long start, long length) {
    r.putHeader("Content-Length", Long.toString(length));
    Thread.ofVirtual().name("cache-send").start(() -> {
      try (InputStream in = store.open(key, start, length)) {
        byte[] buf = new byte[256 * 1024];
        for (int n; (n = in.read(buf)) > 0; ) {
          r.write(Buffer.buffer(n).appendBytes(buf, 0, n)).toCompletionStage().toCompletableFuture().get();
        }
        r.end();
      } catch (Exception e) {
        log.warn("sending {} failed: {}", key, e.toString());
        r.reset();
      }
    });
  }

  @Override
  public void close() {
    if (http != null) {
      http.close().await();
    }
    if (vertx != null) {
      vertx.close().await();
    }
  }
}
