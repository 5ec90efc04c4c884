package dev.procurator.pctl.bench;

import dev.procurator.api.v1alpha1.Secret;
import dev.procurator.api.v1alpha1.SecretSpec;
import dev.procurator.api.v1alpha1.VM;
import dev.procurator.api.v1alpha1.VMPhase;
import dev.procurator.api.v1alpha1.VMSpec;
import dev.procurator.apiserver.testing.EtcdProcess;
import dev.procurator.nodeagent.testing.Guest;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.client.Config;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Locale;

/**
 * How long a Secret's update takes to reach a running guest's file: `pctl up` and `pctl agent`
 * (each its own JVM), one VM of the example guest mounting a Secret at /www/secrets, then N
 * updates, each timed from the API's acknowledgement to the guest's web server serving the new
 * value through its forwarded port (polled every 5 ms). Run with {@code bin/bench-secrets [updates]}.
 */
public final class SecretUpdateBenchmark {
  private SecretUpdateBenchmark() {}

  public static void main(String[] args) throws Exception {
    int updates = args.length > 0 ? Integer.parseInt(args[0]) : 30;
    Path images = Guest.images();
    System.out.printf(Locale.ROOT, "# Procurator Secret update benchmark, %s, %d cores%n", Instant.now(), Runtime.getRuntime().availableProcessors());
    Path work = Files.createTempDirectory("secret-bench");
    List<Process> processes = new ArrayList<>();
    try {
      int port = EtcdProcess.freePort();
      Path up = work.resolve("up");
      Files.createDirectories(up);
      processes.add(RolloutBenchmark.pctl(work.resolve("up.log"), "up", "--data-dir", up.toString(), "--listen", "127.0.0.1:" + port,
          "--cache-listen", "none", "--no-agent"));
      RolloutBenchmark.waitFor(() -> Files.exists(up.resolve("kubeconfig")) && Files.readString(work.resolve("up.log")).contains("Procurator is up"), 60);
      processes.add(RolloutBenchmark.pctl(work.resolve("agent.log"), "--kubeconfig", up.resolve("kubeconfig").toString(), "agent", "--name",
          "bench", "--data-dir", work.resolve("agent").toString(), "--images-dir", images.toString()));
      Config config = Config.fromKubeconfig(null, Files.readString(up.resolve("kubeconfig")), up.resolve("kubeconfig").toString());
      HttpClient http = HttpClient.newHttpClient();
      try (KubernetesClient client = new KubernetesClientBuilder().withConfig(config).build()) {
        Secret s = new Secret();
        s.setMetadata(new ObjectMetaBuilder().withName("app").withNamespace("default").build());
        s.setSpec(new SecretSpec(null, Map.of("value", "v0")));
        client.resource(s).create();
        VM vm = new VM();
        vm.setMetadata(new ObjectMetaBuilder().withName("reader").withNamespace("default").build());
        vm.setSpec(new VMSpec(1, "128Mi", null, new VMSpec.Boot(null, "hello/vmlinux", "hello/initrd.cpio.gz", "console=ttyS0"), null, null,
            new VMSpec.Network(null, List.of(new VMSpec.PortForward(8080, null))), List.of(new VMSpec.SecretMount("app", "/www/secrets")),
            null, null, null));
        client.resource(vm).create();
        var vms = client.resources(VM.class).inNamespace("default");
        RolloutBenchmark.waitFor(() -> vms.withName("reader").get().getStatus() != null
            && vms.withName("reader").get().getStatus().phase() == VMPhase.RUNNING, 180);
        int guestPort = vms.withName("reader").get().getStatus().ports().getFirst().host();
        URI uri = URI.create("http://127.0.0.1:" + guestPort + "/secrets/value");
        RolloutBenchmark.waitFor(() -> read(http, uri).equals("v0"), 60);
        List<Double> ms = new ArrayList<>();
        for (int i = 1; i <= updates; i++) {
          String value = "v" + i;
          long t0 = System.nanoTime();
          client.resources(Secret.class).inNamespace("default").withName("app").edit(sec -> {
            sec.setSpec(new SecretSpec(null, Map.of("value", value)));
            return sec;
          });
          long acked = System.nanoTime();
          RolloutBenchmark.waitFor(() -> read(http, uri).equals(value), 60);
          ms.add((System.nanoTime() - acked) / 1e6);
          if (i == 1) {
            System.out.printf(Locale.ROOT, "first update: %.0f ms from the request, %.0f ms from its acknowledgement%n", (System.nanoTime() - t0) / 1e6,
                ms.getFirst());
          }
        }
        List<Double> sorted = new ArrayList<>(ms);
        sorted.sort(Double::compare);
        System.out.printf(Locale.ROOT, "Secret update → the new value in the running guest's file (%d updates): p50 %.0f ms, p99 %.0f ms, max %.0f ms%n",
            updates, VmBootBenchmark.percentile(sorted, 50), VmBootBenchmark.percentile(sorted, 99), sorted.getLast());
        vms.withName("reader").delete();
        RolloutBenchmark.waitFor(() -> vms.withName("reader").get() == null, 60);
      }
    } finally {
      RolloutBenchmark.stopAll(processes);
      Guest.killMachines(work);
      EtcdProcess.deleteTree(work);
    }
  }

  private static String read(HttpClient http, URI uri) {
    try {
      HttpResponse<String> r = http.send(HttpRequest.newBuilder(uri).timeout(Duration.ofSeconds(5)).build(), HttpResponse.BodyHandlers.ofString());
      return r.statusCode() == 200 ? r.body() : "";
    } catch (Exception e) {
      return "";
    }
  }
}
