package dev.procurator.pctl.bench;

import dev.procurator.api.v1alpha1.VM;
import dev.procurator.api.v1alpha1.VMPhase;
import dev.procurator.api.v1alpha1.VMSpec;
import dev.procurator.apiserver.testing.TestApiServer;
import dev.procurator.nodeagent.NodeAgent;
import dev.procurator.nodeagent.testing.Guest;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.Arrays;
import java.util.Locale;

/**
 * How long one scrape of a node agent's {@code /metrics} takes with N VMs running on it (the
 * example guest under QEMU), as Prometheus asks: a bearer token that may get /metrics, over a
 * kept-alive connection. The baseline is {@code /healthz} on the same connection (HTTP alone).
 * Arguments: [VMs, default 20] [scrapes, default 200].
 */
public final class AgentScrapeBenchmark {
  private AgentScrapeBenchmark() {}

  public static void main(String[] args) throws Exception {
    int vms = args.length > 0 ? Integer.parseInt(args[0]) : 20;
    int scrapes = args.length > 1 ? Integer.parseInt(args[1]) : 200;
    Path images = Guest.images();
    Path data = Files.createTempDirectory("scrape-bench");
    try (TestApiServer api = TestApiServer.embedded()) {
      KubernetesClient c = api.client();
      NodeAgent agent = new NodeAgent(c, NodeAgent.Config.of("node-a", data).withImagesDir(images), Clock.systemUTC()).start();
      try {
        var all = c.resources(VM.class).inNamespace("default");
        for (int i = 0; i < vms; i++) {
          VM v = new VM();
          v.setMetadata(new ObjectMetaBuilder().withName("vm-" + i).withNamespace("default").build());
          v.setSpec(new VMSpec(1, "96Mi", null, new VMSpec.Boot(null, "hello/vmlinux", "hello/initrd.cpio.gz", "console=ttyS0"), "node-a",
              null, null, null, null, null, null));
          all.resource(v).create();
        }
        long began = System.nanoTime();
        while (true) {
          long running = all.list().getItems().stream().filter(v -> v.getStatus() != null && v.getStatus().phase() == VMPhase.RUNNING).count();
          if (running == vms) {
            break;
          }
          if (System.nanoTime() - began > Duration.ofMinutes(15).toNanos()) {
            throw new IllegalStateException("only " + running + " of " + vms + " VMs are Running after 15 minutes");
          }
          java.util.concurrent.locks.LockSupport.parkNanos(Duration.ofSeconds(1).toNanos());
        }
        System.out.printf(Locale.ROOT, "%d VMs Running after %.0f s%n", vms, (System.nanoTime() - began) / 1e9);
        HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
        HttpRequest metrics = HttpRequest.newBuilder(URI.create(agent.endpoint() + "/metrics"))
            .header("Authorization", "Bearer " + TestApiServer.TOKEN).build();
        HttpRequest healthz = HttpRequest.newBuilder(URI.create(agent.endpoint() + "/healthz")).build();
        int size = 0;
        for (int i = 0; i < 50; i++) { // warm-up: the JIT, and the token's check cached as a scraper's is
          HttpResponse<String> r = http.send(metrics, HttpResponse.BodyHandlers.ofString());
          if (r.statusCode() != 200) {
            throw new IllegalStateException("/metrics answered " + r.statusCode() + ": " + r.body());
          }
          size = r.body().length();
          http.send(healthz, HttpResponse.BodyHandlers.discarding());
        }
        double[] m = new double[scrapes];
        double[] h = new double[scrapes];
        for (int i = 0; i < scrapes; i++) {
          long t0 = System.nanoTime();
          http.send(metrics, HttpResponse.BodyHandlers.ofString());
          long t1 = System.nanoTime();
          http.send(healthz, HttpResponse.BodyHandlers.discarding());
          long t2 = System.nanoTime();
          m[i] = (t1 - t0) / 1e6;
          h[i] = (t2 - t1) / 1e6;
        }
        long series = http.send(metrics, HttpResponse.BodyHandlers.ofString()).body().lines().filter(l -> !l.startsWith("#")).count();
        System.out.printf(Locale.ROOT, "/metrics with %d VMs (%d bytes, %d series): p50 %.1f ms, p95 %.1f ms, p99 %.1f ms, max %.1f ms%n",
            vms, size, series, pct(m, 50), pct(m, 95), pct(m, 99), pct(m, 100));
        System.out.printf(Locale.ROOT, "/healthz (baseline): p50 %.1f ms, p95 %.1f ms, p99 %.1f ms%n", pct(h, 50), pct(h, 95), pct(h, 99));
      } finally {
        all(c);
        agent.close();
        Guest.killMachines(data);
      }
    }
  }

  private static void all(KubernetesClient c) {
    c.resources(VM.class).inNamespace("default").delete();
  }

  private static double pct(double[] values, int p) {
    double[] s = values.clone();
    Arrays.sort(s);
    return s[Math.min(s.length - 1, (int) Math.ceil(p / 100.0 * s.length) - 1)];
  }
}
