package dev.procurator.pctl.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.procurator.apiserver.testing.EtcdProcess;
import dev.procurator.apiserver.testing.TestApiServer;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;
import java.util.Locale;

/**
 * The cost of sealing Secrets at rest: Secret creates through the API (sealed) against VM creates
 * of the same size (not sealed), in the same run and server, alternating; and the rewrap's
 * throughput when the key rotates over 10,000 Secrets. The API server runs in this JVM on an etcd
 * member (or the embedded store with {@code -Dbench.store=embedded}). Run with bin/bench-secrets-at-rest.
 */
public final class SecretsAtRestBenchmark {
  private static final ObjectMapper JSON = new ObjectMapper();

  public static void main(String[] args) throws Exception {
    int creates = args.length > 0 ? Integer.parseInt(args[0]) : 3000;
    int rewrapCount = args.length > 1 ? Integer.parseInt(args[1]) : 10_000;
    int clients = 16;
    boolean embedded = "embedded".equals(System.getProperty("bench.store"));
    System.out.printf(Locale.ROOT, "# Procurator Secrets-at-rest benchmark, %s, %d cores, %s store, %d clients%n", Instant.now(),
        Runtime.getRuntime().availableProcessors(), embedded ? "embedded" : "etcd", clients);
    try (EtcdProcess etcd = embedded ? null : EtcdProcess.start(1);
        TestApiServer api = embedded ? TestApiServer.embedded() : TestApiServer.start(etcd.endpoints(), c -> c)) {
      String pad = "x".repeat(700);
      List<Double> vm = new ArrayList<>();
      List<Double> secret = new ArrayList<>();
      create(api, "vms", "warm", 500, clients, pad);
      create(api, "secrets", "warm", 500, clients, pad);
      for (int round = 0; round < 3; round++) {
        vm.add(create(api, "vms", "r" + round, creates, clients, pad));
        secret.add(create(api, "secrets", "r" + round, creates, clients, pad));
      }
      double v = VmBootBenchmark.percentile(vm, 50);
      double s = VmBootBenchmark.percentile(secret, 50);
      System.out.printf(Locale.ROOT, "creates/s, ~1 KiB objects, %d per round: VMs %s (median %.0f), sealed Secrets %s (median %.0f) → %.2f× (target ≥ 0.9×)%n",
          creates, fmt(vm), v, fmt(secret), s, s / v);
      int have = 500 + 3 * creates;
      if (rewrapCount > have) {
        create(api, "secrets", "fill", rewrapCount - have, clients, pad);
        have = rewrapCount;
      }
      long t0 = System.nanoTime();
      HttpResponse<String> r = api.request("POST", "/encryption/rotate", "application/json", "");
      if (r.statusCode() != 200) {
        throw new IllegalStateException(r.body());
      }
      String key = JSON.readTree(r.body()).path("currentKey").asText();
      while (true) {
        JsonNode st = JSON.readTree(api.request("GET", "/encryption/status", null, null).body());
        if (!st.path("rewrapping").asBoolean() && st.path("sealedUnder").path(key).asInt() == st.path("secrets").asInt()) {
          break;
        }
        LockSupport.parkNanos(20_000_000);
      }
      double secs = (System.nanoTime() - t0) / 1e9;
      System.out.printf(Locale.ROOT, "rewrap of %d Secrets under a new key: %.1f s, %.0f Secrets/s%n", have, secs, have / secs);
    }
  }

  private static String fmt(List<Double> v) {
    return v.stream().map(d -> String.format(Locale.ROOT, "%.0f", d)).toList().toString();
  }

  /** Creates {@code n} objects with {@code clients} in flight; creates per second. */
  static double create(TestApiServer api, String resource, String prefix, int n, int clients, String pad) throws Exception {
    return create(api, resource, prefix, n, clients, pad, TestApiServer.TOKEN);
  }

  /** {@link #create}, as the user {@code token} stands for. */
  static double create(TestApiServer api, String resource, String prefix, int n, int clients, String pad, String token) throws Exception {
    String path = "/apis/procurator.dev/v1alpha1/namespaces/default/" + resource;
    AtomicInteger next = new AtomicInteger();
    long t0 = System.nanoTime();
    try (ExecutorService pool = Executors.newFixedThreadPool(clients)) {
      List<Future<?>> fs = new ArrayList<>();
      for (int c = 0; c < clients; c++) {
        fs.add(pool.submit(() -> {
          for (int i = next.getAndIncrement(); i < n; i = next.getAndIncrement()) {
            String name = prefix + "-" + i;
            String body = resource.equals("vms")
                ? "{\"apiVersion\":\"procurator.dev/v1alpha1\",\"kind\":\"VM\",\"metadata\":{\"name\":\"" + name + "\",\"annotations\":{\"pad\":\""
                    + pad + "\"}},\"spec\":{\"cpu\":1,\"memory\":\"128Mi\",\"nodeName\":\"nowhere\",\"boot\":{\"kernel\":\"hello/vmlinux\"}}}"
                : "{\"apiVersion\":\"procurator.dev/v1alpha1\",\"kind\":\"Secret\",\"metadata\":{\"name\":\"" + name + "\"},\"spec\":{\"stringData\":{"
                    + "\"password\":\"" + pad + "\",\"user\":\"bench\"}}}";
            HttpResponse<String> r = api.http().send(HttpRequest.newBuilder(URI.create(api.url() + path))
                .header("Authorization", "Bearer " + token).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofString());
            if (r.statusCode() != 201) {
              throw new IllegalStateException(r.statusCode() + " " + r.body());
            }
          }
          return null;
        }));
      }
      for (Future<?> f : fs) {
        f.get();
      }
    }
    return n / ((System.nanoTime() - t0) / 1e9);
  }
}
