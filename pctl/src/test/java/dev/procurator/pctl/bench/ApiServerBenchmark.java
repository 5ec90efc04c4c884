package dev.procurator.pctl.bench;

import dev.procurator.apiserver.testing.EtcdProcess;
import dev.procurator.apiserver.testing.TestTls;
import io.etcd.jetcd.ByteSequence;
import io.etcd.jetcd.Client;
import io.etcd.jetcd.KV;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpClientRequest;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.PoolOptions;
import io.vertx.core.http.RequestOptions;
import io.vertx.core.net.PemTrustOptions;
import io.vertx.core.parsetools.RecordParser;
import javax.net.ssl.SSLContext;

/**
 * The API server's speed against its baseline, in one run on one machine:
 * create throughput with 64 clients (embedded store, and etcd store) next to raw jetcd puts to the
 * same etcd with 64 in flight; watch delivery latency to 1,000 watchers; list of 10,000 VMs; and
 * the server's memory with 10,000 VMs and 1,000 watchers. The server runs as 'pctl up' in its own
 * JVM, as users run it. Run with bin/bench-apiserver.
 */
public final class ApiServerBenchmark {
  private static final int IN_FLIGHT = 64;
  private static final String PAD = "p".repeat(700);

  public static void main(String[] args) throws Exception {
    int creates = args.length > 0 ? Integer.parseInt(args[0]) : 10_000;
    int watchers = args.length > 1 ? Integer.parseInt(args[1]) : 1000;
    Path jar = Path.of(args.length > 2 ? args[2] : "pctl/target/pctl.jar");
    System.out.printf("# Procurator API server benchmark, %s, %d cores, %s%n", Instant.now(), Runtime.getRuntime().availableProcessors(),
        System.getProperty("java.vm.name") + " " + Runtime.version());
    if (System.getProperty("bench.only", "").equals("watch")) {
      try (Server embedded = Server.start(jar, List.of())) {
        watchLatency(embedded, watchers);
      }
      return;
    }
    if (System.getProperty("bench.only", "").equals("creates")) {
      try (Server embedded = Server.start(jar, List.of())) {
        System.out.printf("embedded store: creates through the API server, %d clients: %.0f/s%n", IN_FLIGHT, creates(embedded, "bench", creates));
      }
      return;
    }
    try (EtcdProcess etcd = EtcdProcess.start(1)) {
      double jetcd = rawJetcd(etcd.endpoints(), creates);
      System.out.printf("raw jetcd puts, 1 KiB, %d in flight: %.0f/s%n", IN_FLIGHT, jetcd);

      try (Server embedded = Server.start(jar, List.of())) {
        double rate = creates(embedded, "bench", creates);
        System.out.printf("embedded store: creates through the API server, %d clients: %.0f/s = %.2fx raw jetcd%n", IN_FLIGHT, rate, rate / jetcd);
        lists(embedded, "bench");
        watchLatency(embedded, watchers);
        System.out.printf("embedded store: API server RSS with %d VMs and %d watchers: %d MiB (heap limit %s)%n",
            count(embedded, "bench"), watchers, embedded.rssMiB(), Server.HEAP);
      }
      String store = "etcd://" + etcd.endpoints().get(0).substring("http://".length());
      try (Server onEtcd = Server.start(jar, List.of("--store", store))) {
        double rate = creates(onEtcd, "bench-etcd", creates);
        System.out.printf("etcd store: creates through the API server, %d clients: %.0f/s = %.2fx raw jetcd%n", IN_FLIGHT, rate, rate / jetcd);
        lists(onEtcd, "bench-etcd");
      }
    }
  }

  static double rawJetcd(List<String> endpoints, int n) throws Exception {
    try (Client c = Client.builder().endpoints(endpoints.toArray(String[]::new)).build()) {
      KV kv = c.getKVClient();
      ByteSequence value = ByteSequence.from(new byte[1024]);
      for (int i = 0; i < 500; i++) {
        kv.put(ByteSequence.from("/warm/" + i, StandardCharsets.UTF_8), value).get();
      }
      Semaphore window = new Semaphore(IN_FLIGHT);
      CountDownLatch done = new CountDownLatch(n);
      long t0 = System.nanoTime();
      for (int i = 0; i < n; i++) {
        window.acquire();
        kv.put(ByteSequence.from("/raw/" + i, StandardCharsets.UTF_8), value).whenComplete((r, e) -> {
          window.release();
          done.countDown();
        });
      }
      done.await();
      return n / ((System.nanoTime() - t0) / 1e9);
    }
  }

  static String vm(String name) {
    return "{\"apiVersion\":\"procurator.dev/v1alpha1\",\"kind\":\"VM\",\"metadata\":{\"name\":\"" + name
        + "\",\"labels\":{\"app\":\"bench\"},\"annotations\":{\"pad\":\"" + PAD + "\"}},"
        + "\"spec\":{\"cpu\":1,\"memory\":\"128Mi\",\"boot\":{\"kernel\":\"hello/vmlinux\",\"initrd\":\"hello/initrd\"}}}";
  }

  /** {@code n} creates, 64 in flight over 64 connections (a Vert.x client, so the client is not the bottleneck). */
  static double creates(Server s, String ns, int n) throws Exception {
    String path = "/apis/procurator.dev/v1alpha1/namespaces/" + ns + "/vms";
    for (int i = 0; i < 200; i++) {
      s.post(path, vm("warm-" + i));
    }
    Vertx vertx = Vertx.vertx();
    try {
      io.vertx.core.http.HttpClient client = vertx.createHttpClient(s.vertxOptions().setKeepAlive(true),
          new PoolOptions().setHttp1MaxSize(IN_FLIGHT));
      Semaphore window = new Semaphore(IN_FLIGHT);
      CountDownLatch done = new CountDownLatch(n);
      AtomicInteger failed = new AtomicInteger();
      long t0 = System.nanoTime();
      for (int i = 0; i < n; i++) {
        window.acquire();
        Buffer body = Buffer.buffer(vm("vm-" + i));
        client.request(new RequestOptions().setMethod(HttpMethod.POST).setURI(path)
                .putHeader("Authorization", "Bearer " + s.token).putHeader("Content-Type", "application/json"))
            .compose(req -> req.send(body))
            .compose(resp -> {
              if (resp.statusCode() != 201) {
                failed.incrementAndGet();
              }
              return resp.end();
            })
            .onComplete(ar -> {
              if (ar.failed()) {
                failed.incrementAndGet();
              }
              window.release();
              done.countDown();
            });
      }
      done.await();
      double rate = n / ((System.nanoTime() - t0) / 1e9);
      if (failed.get() > 0) {
        System.out.printf("  (%d creates failed)%n", failed.get());
      }
      for (int i = 0; i < 200; i++) {
        s.delete(path + "/warm-" + i);
      }
      return rate;
    } finally {
      vertx.close().await();
    }
  }

  static int count(Server s, String ns) throws Exception {
    return s.get("/apis/procurator.dev/v1alpha1/namespaces/" + ns + "/vms").split("\"kind\":\"VM\"").length - 1;
  }

  static void lists(Server s, String ns) throws Exception {
    String path = "/apis/procurator.dev/v1alpha1/namespaces/" + ns + "/vms";
    int items = count(s, ns);
    long[] whole = new long[7];
    long[] paged = new long[7];
    for (int r = 0; r < whole.length; r++) {
      long t0 = System.nanoTime();
      s.get(path);
      whole[r] = System.nanoTime() - t0;
      t0 = System.nanoTime();
      String token = "";
      do {
        String body = s.get(path + "?limit=500" + (token.isEmpty() ? "" : "&continue=" + token));
        int i = body.indexOf("\"continue\":\"");
        token = i < 0 ? "" : body.substring(i + 12, body.indexOf('"', i + 12));
      } while (!token.isEmpty());
      paged[r] = System.nanoTime() - t0;
    }
    System.out.printf("%s: list of %d VMs: one request %d ms, paged by 500 %d ms (median of %d, first run dropped)%n",
        s.name, items, median(whole) / 1_000_000, median(paged) / 1_000_000, whole.length - 1);
  }

  private static long median(long[] runs) {
    long[] r = Arrays.copyOfRange(runs, 1, runs.length);
    Arrays.sort(r);
    return r[r.length / 2];
  }

  /** Write one VM at a time; every watcher records when each event arrives; latency from the write's acknowledgement. */
  static void watchLatency(Server s, int watchers) throws Exception {
    String ns = "watch-bench";
    String path = "/apis/procurator.dev/v1alpha1/namespaces/" + ns + "/vms";
    int events = 100;
    long[][] arrived = new long[watchers][events];
    long[] acked = new long[events];
    String rv = s.get(path).replaceAll("(?s).*\"resourceVersion\":\"(\\d+)\".*", "$1");
    CountDownLatch connected = new CountDownLatch(watchers);
    CountDownLatch all = new CountDownLatch(watchers);
    Vertx vertx = Vertx.vertx();
    try {
      io.vertx.core.http.HttpClient client = vertx.createHttpClient(s.vertxOptions(), new PoolOptions().setHttp1MaxSize(watchers));
      for (int w = 0; w < watchers; w++) {
        int id = w;
        int[] seen = {0};
        client.request(new RequestOptions().setMethod(HttpMethod.GET)
                .setURI(path + "?watch=1&resourceVersion=" + rv + "&timeoutSeconds=600")
                .putHeader("Authorization", "Bearer " + s.token))
            .compose(HttpClientRequest::send)
            .onSuccess(resp -> {
              connected.countDown();
              RecordParser lines = RecordParser.newDelimited("\n", line -> {
                long now = System.nanoTime();
                String text = line.toString(StandardCharsets.UTF_8);
                int i = text.indexOf("\"name\":\"lat-");
                if (i >= 0 && seen[0] < events) {
                  arrived[id][Integer.parseInt(text.substring(i + 12, text.indexOf('"', i + 12)))] = now;
                  if (++seen[0] == events) {
                    all.countDown();
                  }
                }
              });
              lines.maxRecordSize(4 * 1024 * 1024);
              resp.handler(lines);
            })
            .onFailure(e -> System.out.println("  watcher failed: " + e));
      }
      if (!connected.await(120, TimeUnit.SECONDS)) {
        throw new IllegalStateException("watchers did not connect: " + connected.getCount() + " missing");
      }
      LockSupport.parkNanos(Duration.ofSeconds(2).toNanos());
      System.out.printf("embedded store: API server RSS with %d watchers connected: %d MiB%n", watchers, s.rssMiB());
      HttpClient writer = s.newClient();
      // warm-up: the same path, unmeasured, so the JIT has compiled the fan-out before the clock runs
      for (int i = 0; i < WARMUP_EVENTS; i++) {
        s.post(writer, path, vm("warm-" + i));
        LockSupport.parkNanos(Duration.ofMillis(50).toNanos());
      }
      for (int i = 0; i < events; i++) {
        int code = s.post(writer, path, vm("lat-" + i));
        acked[i] = System.nanoTime();
        if (code != 201) {
          throw new IllegalStateException("create failed: " + code);
        }
        LockSupport.parkNanos(Duration.ofMillis(50).toNanos());
      }
      if (!all.await(120, TimeUnit.SECONDS)) {
        System.out.printf("  %d watchers did not get every event%n", all.getCount());
      }
    } finally {
      vertx.close().await();
    }
    report(arrived, acked, 0, events + " events after " + WARMUP_EVENTS + " unmeasured ones");
  }

  private static final int WARMUP_EVENTS = 20;

  private static void report(long[][] arrived, long[] acked, int from, String which) {
    int events = acked.length - from;
    long[] latencies = new long[arrived.length * events];
    int k = 0;
    for (long[] w : arrived) {
      for (int i = from; i < acked.length; i++) {
        latencies[k++] = w[i] == 0 ? Long.MAX_VALUE : Math.max(0, w[i] - acked[i]);
      }
    }
    Arrays.sort(latencies);
    System.out.printf("embedded store: watch delivery after the write's acknowledgement to %d watchers (%s): "
            + "p50 %.1f ms, p99 %.1f ms, max %.1f ms%n", arrived.length, which, latencies[latencies.length / 2] / 1e6,
        latencies[(int) (latencies.length * 0.99)] / 1e6, latencies[latencies.length - 1] / 1e6);
  }

  /** 'pctl up' in its own JVM, with a client that trusts its CA. */
  static final class Server implements AutoCloseable {
    static final String HEAP = "2g";
    final String name;
    final Path dir;
    final int port;
    final Process process;
    final SSLContext ssl;
    final String token;
    final HttpClient client;

    private Server(String name, Path dir, int port, Process process) throws Exception {
      this.name = name;
      this.dir = dir;
      this.port = port;
      this.process = process;
      long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
      while (!Files.exists(dir.resolve("kubeconfig"))) {
        if (!process.isAlive() || System.nanoTime() > deadline) {
          throw new IllegalStateException("pctl up failed: " + Files.readString(dir.resolve("up.log")));
        }
        LockSupport.parkNanos(Duration.ofMillis(100).toNanos());
      }
      ssl = TestTls.trusting(dir.resolve("pki/ca.crt"));
      token = Files.readString(dir.resolve("admin-token")).trim();
      client = newClient();
    }

    static Server start(Path jar, List<String> extra) throws Exception {
      Path dir = Files.createTempDirectory("bench-up");
      int port = EtcdProcess.freePort();
      List<String> cmd = new ArrayList<>(List.of(ProcessHandle.current().info().command().orElse("java"),
          "--enable-native-access=ALL-UNNAMED", "-Xmx" + HEAP));
      String jvmArgs = System.getProperty("bench.serverJvmArgs", "");
      if (!jvmArgs.isBlank()) {
        cmd.addAll(List.of(jvmArgs.trim().split("\\s+")));
      }
      // the API server alone: no controllers or agent acting on the benchmark's 10,000 VMs
      cmd.addAll(List.of("-jar", jar.toString(), "up", "--data-dir", dir.toString(), "--listen", "127.0.0.1:" + port,
          "--cache-listen", "none", "--no-controllers", "--no-agent"));
      cmd.addAll(extra);
      Process p = new ProcessBuilder(cmd).redirectErrorStream(true)
          .redirectOutput(ProcessBuilder.Redirect.appendTo(dir.resolve("up.log").toFile())).start();
      return new Server(extra.isEmpty() ? "embedded store" : "etcd store", dir, port, p);
    }

    HttpClientOptions vertxOptions() throws IOException {
      HttpClientOptions o = new HttpClientOptions();
      if (io.vertx.core.net.OpenSSLEngineOptions.isAvailable()) {
        o.setSslEngineOptions(new io.vertx.core.net.OpenSSLEngineOptions());
      }
      return o.setSsl(true).setDefaultHost("127.0.0.1").setDefaultPort(port)
          .setTrustOptions(new PemTrustOptions().addCertValue(Buffer.buffer(Files.readString(dir.resolve("pki/ca.crt")))));
    }

    HttpClient newClient() {
      return HttpClient.newBuilder().sslContext(ssl).version(HttpClient.Version.HTTP_1_1).build();
    }

    HttpRequest.Builder request(String path) {
      return HttpRequest.newBuilder(URI.create("https://127.0.0.1:" + port + path)).header("Authorization", "Bearer " + token);
    }

    int post(String path, String body) throws Exception {
      return post(client, path, body);
    }

    int post(HttpClient c, String path, String body) throws IOException, InterruptedException {
      return c.send(request(path).header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(body)).build(),
          HttpResponse.BodyHandlers.discarding()).statusCode();
    }

    String get(String path) throws Exception {
      return client.send(request(path).GET().build(), HttpResponse.BodyHandlers.ofString()).body();
    }

    void delete(String path) throws Exception {
      client.send(request(path).DELETE().build(), HttpResponse.BodyHandlers.discarding());
    }

    long rssMiB() throws IOException {
      for (String line : Files.readAllLines(Path.of("/proc/" + process.pid() + "/status"))) {
        if (line.startsWith("VmRSS:")) {
          return Long.parseLong(line.replaceAll("\\D", "")) / 1024;
        }
      }
      return -1;
    }

    @Override
    public void close() throws Exception {
      process.destroy();
      process.waitFor(30, TimeUnit.SECONDS);
      EtcdProcess.deleteTree(dir);
    }
  }
}
