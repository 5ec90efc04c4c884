package dev.procurator.pctl.bench;

import dev.procurator.apiserver.testing.EtcdProcess;
import dev.procurator.apiserver.testing.TestTls;
import io.etcd.jetcd.ByteSequence;
import io.etcd.jetcd.Client;
import io.etcd.jetcd.KV;
import io.etcd.jetcd.op.Cmp;
import io.etcd.jetcd.op.CmpTarget;
import io.etcd.jetcd.op.Op;
import io.etcd.jetcd.options.GetOption;
import io.etcd.jetcd.options.PutOption;
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
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;
import java.util.function.IntFunction;
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
import java.util.Locale;

/**
 * The API server's speed against its baseline, in one run on one machine:
 * create throughput with 64 clients (embedded store, and etcd store) next to raw jetcd puts to the
 * same etcd with 64 in flight; watch delivery latency to 1,000 watchers; list of 10,000 VMs; and
 * the server's memory with 10,000 VMs and 1,000 watchers. The server runs as 'pctl up' in its own
 * JVM, as users run it. Run with bin/bench-apiserver.
 */
public final class ApiServerBenchmark {
  private static final int IN_FLIGHT = Integer.getInteger("bench.inFlight", 64);
  /** Creates over HTTP/2, all in flight on one connection as client-go sends them, instead of 64 HTTP/1.1 connections. */
  private static final boolean HTTP2 = Boolean.getBoolean("bench.http2");
  private static final String PAD = "p".repeat(700);

  public static void main(String[] args) throws Exception {
    int creates = args.length > 0 ? Integer.parseInt(args[0]) : 10_000;
    int watchers = args.length > 1 ? Integer.parseInt(args[1]) : 1000;
    Path jar = Path.of(args.length > 2 ? args[2] : "pctl/target/pctl.jar");
    System.out.printf(Locale.ROOT, "# Procurator API server benchmark, %s, %d cores, %s%n", Instant.now(), Runtime.getRuntime().availableProcessors(),
        System.getProperty("java.vm.name") + " " + Runtime.version());
    if (System.getProperty("bench.only", "").equals("metrics")) {
      metricsOnOff(jar, creates);
      return;
    }
    if (System.getProperty("bench.only", "").equals("watch")) {
      try (Server embedded = Server.start(jar, List.of())) {
        watchLatency(embedded, watchers);
      }
      return;
    }
    String flags = System.getProperty("bench.etcdFlags", "").trim();
    try (EtcdProcess etcd = EtcdProcess.start(1, flags.isEmpty() ? List.of() : List.of(flags.split("\\s+")));
        Client jetcd = Client.builder().endpoints(etcd.endpoints().toArray(String[]::new)).build()) {
      Cpu cpu = new Cpu(etcd.members().get(0).process().pid());
      RawJetcd baseline = new RawJetcd(jetcd.getKVClient());
      warmUp("raw jetcd", baseline::puts, creates);
      String only = System.getProperty("bench.only", "");
      if (!only.equals("etcd")) {
        try (Server embedded = Server.start(jar, List.of())) {
          compare(embedded, baseline, creates, cpu, 1.0);
          lists(embedded, "bench-1");
          watchLatency(embedded, watchers);
          System.out.printf(Locale.ROOT, "embedded store: API server RSS with %d VMs and %d watchers: %d MiB (heap limit %s)%n",
              count(embedded, "bench-1"), watchers, embedded.rssMiB(), Server.HEAP);
        }
      }
      if (!only.equals("embedded")) {
        String store = "etcd://" + etcd.endpoints().get(0).substring("http://".length());
        try (Server onEtcd = Server.start(jar, List.of("--store", store))) {
          compare(onEtcd, baseline, creates, cpu, 0.7);
          lists(onEtcd, "bench-1");
        }
      }
    }
  }

  /** Rounds of warm-up before the first measured round: at least this many, at most {@link #MAX_WARMUP_ROUNDS}. */
  private static final int MIN_WARMUP_ROUNDS = Integer.getInteger("bench.warmupRounds", 8);
  private static final int MAX_WARMUP_ROUNDS = 12;
  /** Measured rounds per comparison; the ratio is of the medians. */
  private static final int ROUNDS = Integer.getInteger("bench.rounds", 5);

  /** One round of {@code n} writes named by {@code round}; returns writes per second. */
  interface Round {
    double run(String round, int n) throws Exception;
  }

  /**
   * Runs unmeasured rounds until the rate settles (two rounds in a row within 5 % of each other,
   * after at least {@link #MIN_WARMUP_ROUNDS}): a JVM that has just started runs interpreted and
   * compiles its hot paths on the same cores for tens of seconds, and the targets are about
   * processes that run for days. Both sides of a comparison are warmed the same way.
   */
  static void warmUp(String what, Round round, int n) throws Exception {
    double previous = 0;
    StringBuilder rates = new StringBuilder();
    for (int r = 1; r <= MAX_WARMUP_ROUNDS; r++) {
      double rate = round.run("warmup-" + r, n);
      rates.append(rates.isEmpty() ? "" : ", ").append(String.format(Locale.ROOT, "%.0f", rate));
      if (r >= MIN_WARMUP_ROUNDS && Math.abs(rate - previous) <= 0.05 * previous) {
        break;
      }
      previous = rate;
    }
    System.out.printf(Locale.ROOT, "  (%s warming up, rounds of %d: %s per second)%n", what, n, rates);
  }

  /**
   * Creates through {@code s} against raw jetcd puts, alternating measured rounds of each so that
   * both see the same machine (on a shared host, either side's rate drifts by a third between
   * minutes); reports each pair and the ratio of the medians.
   */
  static void compare(Server s, RawJetcd baseline, int n, Cpu cpu, double target) throws Exception {
    boolean onEtcd = s.name.startsWith("etcd");
    Creates creates = new Creates(s);
    try {
      warmUp(s.name + " creates", creates::warmUpRound, n);
      if (onEtcd) {
        warmUp("raw jetcd conditional creates", baseline::creates, n);
      }
      double[] base = new double[ROUNDS];
      double[] txn = new double[ROUNDS];
      double[] api = new double[ROUNDS];
      for (int r = 0; r < ROUNDS; r++) {
        cpu.start(-1);
        base[r] = baseline.puts("measured-" + r, n);
        cpu.stop();
        StringBuilder line = new StringBuilder(String.format(Locale.ROOT, "  round %d: raw jetcd %.0f puts/s%s", r + 1, base[r], cpu.report("etcd")));
        if (onEtcd) {
          cpu.start(-1);
          txn[r] = baseline.creates("measured-" + r, n);
          cpu.stop();
          line.append(String.format(Locale.ROOT, "; raw jetcd %.0f conditional creates/s%s", txn[r], cpu.report("etcd")));
        }
        cpu.start(s.process.pid());
        api[r] = creates.round("bench-" + (r + 1), n);
        cpu.stop();
        line.append(String.format(Locale.ROOT, "; %s %.0f creates/s%s", s.name, api[r],
            cpu.report(onEtcd ? new String[] {"etcd", "server"} : new String[] {"server"})));
        System.out.println(line);
      }
      // leave one namespace of n VMs for the list and memory figures
      for (int r = 2; r <= ROUNDS; r++) {
        creates.deleteAll("bench-" + r, n);
      }
      double b = median(base);
      double a = median(api);
      System.out.printf(Locale.ROOT, "%s: creates through the API server, %d in flight: %.0f/s; raw jetcd puts, 1 KiB, %d in flight: %.0f/s; "
          + "ratio %.2fx (target %.1fx; medians of %d alternating rounds of %d)%n", s.name, IN_FLIGHT, a, IN_FLIGHT, b, a / b, target,
          ROUNDS, n);
      if (onEtcd) {
        System.out.printf(Locale.ROOT, "%s: raw jetcd conditional creates (a txn, as every create must be), %d in flight: %.0f/s = %.2fx raw puts; "
            + "the API server reaches %.2fx of them%n", s.name, IN_FLIGHT, median(txn), median(txn) / b, a / median(txn));
      }
    } finally {
      creates.close();
    }
  }

  /**
   * Creates through a server that measures every request and serves {@code /metrics}, against one
   * started with {@code --no-metrics}, both embedded and up at once, warmed alike, then measured in
   * alternating rounds (which goes first alternates too); each round's VMs are deleted, unmeasured,
   * before the next, so both stores stay the same size. Reports the ratio of the medians.
   */
  static void metricsOnOff(Path jar, int n) throws Exception {
    try (Server on = Server.start(jar, List.of(), "metrics on");
        Server off = Server.start(jar, List.of("--no-metrics"), "metrics off");
        Creates withMetrics = new Creates(on);
        Creates without = new Creates(off)) {
      Cpu cpu = new Cpu(0);
      warmUp(on.name + " creates", withMetrics::warmUpRound, n);
      warmUp(off.name + " creates", without::warmUpRound, n);
      double[] a = new double[ROUNDS];
      double[] b = new double[ROUNDS];
      for (int r = 0; r < ROUNDS; r++) {
        StringBuilder line = new StringBuilder(String.format(Locale.ROOT, "  round %d:", r + 1));
        for (int side = 0; side < 2; side++) {
          boolean measured = (side + r) % 2 == 0;
          Server s = measured ? on : off;
          Creates c = measured ? withMetrics : without;
          cpu.start(s.process.pid());
          double rate = c.round("bench-" + (r + 1), n);
          cpu.stop();
          (measured ? a : b)[r] = rate;
          line.append(String.format(Locale.ROOT, " %s %.0f creates/s%s;", s.name, rate, cpu.report("server")));
        }
        System.out.println(line);
        withMetrics.deleteAll("bench-" + (r + 1), n);
        without.deleteAll("bench-" + (r + 1), n);
      }
      double[] paired = new double[ROUNDS];
      for (int r = 0; r < ROUNDS; r++) {
        paired[r] = a[r] / b[r];
      }
      System.out.printf(Locale.ROOT, "metrics: creates with metrics on %.0f/s, off %.0f/s: ratio %.3fx; median of the rounds' own ratios %.3fx"
          + " (target 0.97x; %d alternating rounds of %d, %d in flight)%n", median(a), median(b), median(a) / median(b), median(paired),
          ROUNDS, n, IN_FLIGHT);
      String scrape = on.get("/metrics");
      System.out.printf(Locale.ROOT, "  (the measured server's /metrics: %d lines, %d bytes)%n", scrape.split("\n").length, scrape.length());
    }
  }

  private static double median(double[] values) {
    double[] v = values.clone();
    Arrays.sort(v);
    return v.length % 2 == 1 ? v[v.length / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2;
  }

  /**
   * The baseline: 1 KiB puts straight to etcd with jetcd, 64 in flight; and, for reference, the
   * same keys created the only way a create can be (a txn: put if the key's create revision is 0).
   */
  record RawJetcd(KV kv) {
    private static final ByteSequence VALUE = ByteSequence.from(new byte[1024]);

    double creates(String round, int n) throws InterruptedException {
      AtomicInteger failed = new AtomicInteger();
      double rate = closedLoop(n, (i, next) -> {
        ByteSequence key = ByteSequence.from("/raw-txn/" + round + "/" + i, StandardCharsets.UTF_8);
        kv.txn().If(new Cmp(key, Cmp.Op.EQUAL, CmpTarget.createRevision(0)))
            .Then(Op.put(key, VALUE, PutOption.DEFAULT))
            .Else(Op.get(key, GetOption.DEFAULT))
            .commit().whenComplete((r, e) -> {
              if (e != null || !r.isSucceeded()) {
                failed.incrementAndGet();
              }
              next.run();
            });
      });
      if (failed.get() > 0) {
        System.out.printf(Locale.ROOT, "  (%d of %d raw conditional creates failed)%n", failed.get(), n);
      }
      return rate;
    }

    double puts(String round, int n) throws InterruptedException {
      AtomicInteger failed = new AtomicInteger();
      double rate = closedLoop(n, (i, next) ->
          kv.put(ByteSequence.from("/raw/" + round + "/" + i, StandardCharsets.UTF_8), VALUE).whenComplete((r, e) -> {
            if (e != null) {
              failed.incrementAndGet();
            }
            next.run();
          }));
      if (failed.get() > 0) {
        System.out.printf(Locale.ROOT, "  (%d of %d raw puts failed)%n", failed.get(), n);
      }
      return rate;
    }
  }

  static String vm(String name) {
    return "{\"apiVersion\":\"procurator.dev/v1alpha1\",\"kind\":\"VM\",\"metadata\":{\"name\":\"" + name
        + "\",\"labels\":{\"app\":\"bench\"},\"annotations\":{\"pad\":\"" + PAD + "\"}},"
        + "\"spec\":{\"cpu\":1,\"memory\":\"128Mi\",\"boot\":{\"kernel\":\"hello/vmlinux\",\"initrd\":\"hello/initrd\"}}}";
  }

  /**
   * VM creates through one API server, 64 in flight over 64 keep-alive HTTPS connections (a
   * Vert.x client, so the load generator is not the bottleneck).
   */
  static final class Creates implements AutoCloseable {
    private final Server s;
    private final Vertx vertx = Vertx.vertx();
    private final io.vertx.core.http.HttpClient client;

    Creates(Server s) throws IOException {
      this.s = s;
      HttpClientOptions options = s.vertxOptions().setKeepAlive(true);
      if (HTTP2) {
        options.setProtocolVersion(io.vertx.core.http.HttpVersion.HTTP_2).setUseAlpn(true).setHttp2MultiplexingLimit(IN_FLIGHT);
      }
      client = vertx.createHttpClient(options, new PoolOptions().setHttp1MaxSize(IN_FLIGHT).setHttp2MaxSize(1));
    }

    double round(String ns, int n) throws InterruptedException {
      String path = "/apis/procurator.dev/v1alpha1/namespaces/" + ns + "/vms";
      return blast(client, s, n, HttpMethod.POST, i -> path, i -> Buffer.buffer(vm("vm-" + i)), 201);
    }

    /** A round of creates, then the same VMs deleted (unmeasured), so warm-up leaves nothing behind. */
    double warmUpRound(String ns, int n) throws InterruptedException {
      double rate = round(ns, n);
      deleteAll(ns, n);
      return rate;
    }

    void deleteAll(String ns, int n) throws InterruptedException {
      String path = "/apis/procurator.dev/v1alpha1/namespaces/" + ns + "/vms/vm-";
      blast(client, s, n, HttpMethod.DELETE, i -> path + i, i -> null, 200);
    }

    @Override
    public void close() {
      vertx.close().await();
    }
  }

  /**
   * {@code n} requests from 64 clients, each sending its next request when its last one is
   * answered (issued from the completion callback, so no thread hands work to another); returns
   * requests per second and reports any that did not answer {@code expect}.
   */
  private static double blast(io.vertx.core.http.HttpClient client, Server s, int n, HttpMethod method,
      IntFunction<String> uri, IntFunction<Buffer> body, int expect) throws InterruptedException {
    AtomicInteger failed = new AtomicInteger();
    double rate = closedLoop(n, (i, next) -> {
      Buffer b = body.apply(i);
      client.request(new RequestOptions().setMethod(method).setURI(uri.apply(i))
              .putHeader("Authorization", "Bearer " + s.token).putHeader("Content-Type", "application/json"))
          .compose(req -> b == null ? req.send() : req.send(b))
          .compose(resp -> {
            if (resp.statusCode() != expect) {
              failed.incrementAndGet();
            }
            return resp.end();
          })
          .onComplete(ar -> {
            if (ar.failed()) {
              failed.incrementAndGet();
            }
            next.run();
          });
    });
    if (failed.get() > 0) {
      System.out.printf(Locale.ROOT, "  (%d of %d %s requests failed)%n", failed.get(), n, method);
    }
    return rate;
  }

  /** Sends request {@code i}, then runs {@code next} once it is answered. */
  interface Send {
    void send(int i, Runnable next);
  }

  /** {@code n} requests by {@link #IN_FLIGHT} clients in a closed loop; returns requests per second. */
  static double closedLoop(int n, Send send) throws InterruptedException {
    AtomicInteger issued = new AtomicInteger();
    CountDownLatch done = new CountDownLatch(n);
    Runnable[] lane = new Runnable[1];
    lane[0] = () -> {
      int i = issued.getAndIncrement();
      if (i < n) {
        send.send(i, () -> {
          done.countDown();
          lane[0].run();
        });
      }
    };
    long t0 = System.nanoTime();
    for (int c = 0; c < Math.min(IN_FLIGHT, n); c++) {
      lane[0].run();
    }
    done.await();
    return n / ((System.nanoTime() - t0) / 1e9);
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
    System.out.printf(Locale.ROOT, "%s: list of %d VMs: one request %d ms, paged by 500 %d ms (median of %d, first run dropped)%n",
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
                // the name is near the front (metadata is stored first): decode only that much
                String text = line.getString(0, Math.min(line.length(), 512), "UTF-8");
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
      System.out.printf(Locale.ROOT, "embedded store: API server RSS with %d watchers connected: %d MiB%n", watchers, s.rssMiB());
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
        System.out.printf(Locale.ROOT, "  %d watchers did not get every event%n", all.getCount());
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
    System.out.printf(Locale.ROOT, "embedded store: watch delivery after the write's acknowledgement to %d watchers (%s): "
            + "p50 %.1f ms, p99 %.1f ms, max %.1f ms%n", arrived.length, which, latencies[latencies.length / 2] / 1e6,
        latencies[(int) (latencies.length * 0.99)] / 1e6, latencies[latencies.length - 1] / 1e6);
  }

  /**
   * CPU time used during a measured phase by the benchmark's own JVM (the load generator), etcd and
   * the API server, from /proc; reported as cores, so one sees what shared the machine.
   */
  static final class Cpu {
    private final long etcdPid;
    private long serverPid;
    private long t0;
    private long[] before;
    private double[] cores;

    Cpu(long etcdPid) {
      this.etcdPid = etcdPid;
    }

    void start(long serverPid) {
      this.serverPid = serverPid;
      before = new long[] {ticks(ProcessHandle.current().pid()), ticks(etcdPid), ticks(serverPid)};
      t0 = System.nanoTime();
    }

    void stop() {
      double seconds = (System.nanoTime() - t0) / 1e9;
      long[] after = {ticks(ProcessHandle.current().pid()), ticks(etcdPid), ticks(serverPid)};
      cores = new double[3];
      for (int i = 0; i < 3; i++) {
        cores[i] = (after[i] - before[i]) / 100.0 / seconds;
      }
    }

    /** ", cores: load generator 0.9, etcd 0.6" for the named processes. */
    String report(String... others) {
      StringBuilder sb = new StringBuilder(String.format(Locale.ROOT, " (cores busy: load generator %.2f", cores[0]));
      for (String o : others) {
        sb.append(String.format(Locale.ROOT, ", %s %.2f", o, cores[o.equals("etcd") ? 1 : 2]));
      }
      return sb.append(")").toString();
    }

    /** utime + stime of a process in clock ticks (USER_HZ, 100 on Linux), 0 for no process. */
    private static long ticks(long pid) {
      if (pid <= 0) {
        return 0;
      }
      try {
        String stat = Files.readString(Path.of("/proc/" + pid + "/stat"));
        String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
        return Long.parseLong(f[11]) + Long.parseLong(f[12]);
      } catch (IOException e) {
        return 0;
      }
    }
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
      return start(jar, extra, extra.isEmpty() ? "embedded store" : "etcd store");
    }

    static Server start(Path jar, List<String> extra, String name) throws Exception {
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
      return new Server(name, dir, port, p);
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
