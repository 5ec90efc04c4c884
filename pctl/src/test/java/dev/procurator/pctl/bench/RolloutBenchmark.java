package dev.procurator.pctl.bench;

import dev.procurator.api.runtime.Conditions;
import dev.procurator.api.v1alpha1.Cluster;
import dev.procurator.api.v1alpha1.ClusterSpec;
import dev.procurator.api.v1alpha1.HealthCheckType;
import dev.procurator.api.v1alpha1.Revisions;
import dev.procurator.api.v1alpha1.RolloutStrategyType;
import dev.procurator.api.v1alpha1.VM;
import dev.procurator.api.v1alpha1.VMSpec;
import dev.procurator.apiserver.testing.EtcdProcess;
import dev.procurator.nodeagent.hypervisor.qemu.QemuMicrovmRunner;
import dev.procurator.nodeagent.testing.Guest;
import io.fabric8.kubernetes.api.model.IntOrString;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.client.Config;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import io.fabric8.kubernetes.client.Watch;
import io.fabric8.kubernetes.client.Watcher;
import io.fabric8.kubernetes.client.WatcherException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import java.util.Locale;

/**
 * A rolling update of 6 VMs ({@code maxSurge: 2}, {@code maxUnavailable: 0}) through Procurator,
 * timed from the spec's change to the Cluster's {@code RolloutComplete}, against the bare boot of
 * the same guest measured in the same run; and the controller's reaction time: from a VM's
 * {@code Healthy} change to the next create or delete it makes, as one watch sees both. {@code
 * pctl up --no-agent} (API server and controllers) and {@code pctl agent} run in their own JVMs, as
 * users run them. Run with bin/bench-rollout.
 */
public final class RolloutBenchmark {
  public static void main(String[] args) throws Exception {
    int rounds = args.length > 0 ? Integer.parseInt(args[0]) : 3;
    int bareBoots = args.length > 1 ? Integer.parseInt(args[1]) : 5;
    Path images = Guest.images();
    QemuMicrovmRunner runner = QemuMicrovmRunner.forThisHost();
    System.out.printf(Locale.ROOT, "# Procurator rollout benchmark, %s, %d cores, accelerator %s%n", Instant.now(),
        Runtime.getRuntime().availableProcessors(), runner.accelerator());
    Path work = Files.createTempDirectory("rollout-bench");
    List<Process> processes = new ArrayList<>();
    try {
      List<Double> bare = new ArrayList<>();
      for (int i = 0; i < bareBoots; i++) {
        bare.add(VmBootBenchmark.bare(runner, images, work, i));
      }
      double bareP50 = VmBootBenchmark.percentile(bare, 50);
      int port = EtcdProcess.freePort();
      Path up = work.resolve("up");
      Files.createDirectories(up);
      processes.add(pctl(work.resolve("up.log"), "up", "--data-dir", up.toString(), "--listen", "127.0.0.1:" + port, "--cache-listen", "none",
          "--no-agent"));
      waitFor(() -> Files.exists(up.resolve("kubeconfig")) && Files.readString(work.resolve("up.log")).contains("Procurator is up"), 60);
      processes.add(pctl(work.resolve("agent.log"), "--kubeconfig", up.resolve("kubeconfig").toString(), "agent", "--name", "bench",
          "--data-dir", work.resolve("agent").toString(), "--images-dir", images.toString()));
      Config config = Config.fromKubeconfig(null, Files.readString(up.resolve("kubeconfig")), up.resolve("kubeconfig").toString());
      try (KubernetesClient client = new KubernetesClientBuilder().withConfig(config).build()) {
        waitFor(() -> client.resources(dev.procurator.api.v1alpha1.Node.class).withName("bench").get() != null, 60);
        List<Long> reactions = new CopyOnWriteArrayList<>();
        Map<String, Long> healthyAt = new ConcurrentHashMap<>();
        Set<String> seen = ConcurrentHashMap.newKeySet();
        long[] lastHealthy = {0};
        String[] lastHealthyName = {null};
        List<String> slow = new CopyOnWriteArrayList<>();
        long[] roundStart = {System.nanoTime()};
        Map<String, String> states = new ConcurrentHashMap<>();
        List<String> timeline = new CopyOnWriteArrayList<>();
        try (Watch w = client.resources(VM.class).inNamespace("default").watch(new Watcher<>() {
          @Override
          public void eventReceived(Action action, VM vm) {
            long now = System.nanoTime();
            String name = vm.getMetadata().getName();
            String state = action == Action.DELETED ? "gone" : vm.getMetadata().getDeletionTimestamp() != null ? "deleting"
                : (vm.getStatus() == null || vm.getStatus().phase() == null ? "new" : vm.getStatus().phase().toString())
                + (vm.getStatus() != null && Conditions.isTrue(vm.getStatus().conditions(), "Healthy") ? "+Healthy" : "");
            if (!state.equals(states.put(name, state))) {
              timeline.add(String.format(Locale.ROOT, "%8.0f ms  %-28s %s", (now - roundStart[0]) / 1e6, name, state));
            }
            boolean healthy = vm.getStatus() != null && Conditions.isTrue(vm.getStatus().conditions(), "Healthy");
            if (healthy && healthyAt.putIfAbsent(name, now) == null) {
              lastHealthy[0] = now;
              lastHealthyName[0] = name;
            }
            boolean act = action == Action.ADDED || vm.getMetadata().getDeletionTimestamp() != null && seen.add(name);
            if (act && lastHealthy[0] != 0) {
              reactions.add(now - lastHealthy[0]);
              if (now - lastHealthy[0] > 80_000_000L) {
                slow.add(String.format(Locale.ROOT, "%.0f ms: %s Healthy at %.0f ms into the rollout → %s %s", (now - lastHealthy[0]) / 1e6,
                    lastHealthyName[0], (lastHealthy[0] - roundStart[0]) / 1e6, name, action == Action.ADDED ? "created" : "deleted"));
              }
              lastHealthy[0] = 0;
            }
          }

          @Override
          public void onClose(WatcherException cause) {}
        })) {
          create(client, spec("0"));
          awaitComplete(client);
          List<Double> walls = new ArrayList<>();
          for (int r = 1; r <= rounds; r++) {
            lastHealthy[0] = 0;
            timeline.clear();
            long t0 = System.nanoTime();
            roundStart[0] = t0;
            update(client, spec(Integer.toString(r)));
            awaitComplete(client);
            walls.add((System.nanoTime() - t0) / 1e6);
          }
          List<Double> ms = reactions.stream().map(n -> n / 1e6).toList();
          System.out.println();
          if (Boolean.getBoolean("bench.timeline")) {
            System.out.println("the last rollout, as the watch saw it:");
            timeline.forEach(System.out::println);
          }
          System.out.printf(Locale.ROOT, "bare boot of the guest, exec → ready line: p50 %.0f ms (of %d)%n", bareP50, bare.size());
          System.out.printf(Locale.ROOT, "rolling update of 6 VMs (maxSurge 2, maxUnavailable 0), change → RolloutComplete: %s ms; median %.0f ms%n",
              walls.stream().map(d -> String.format(Locale.ROOT, "%.0f", d)).toList(), VmBootBenchmark.percentile(walls, 50));
          System.out.printf(Locale.ROOT, "target: ≤ 3 × bare p50 + 20%% = %.0f ms → median is %.2f × bare p50%n", 3 * bareP50 * 1.2,
              VmBootBenchmark.percentile(walls, 50) / bareP50);
          System.out.printf(Locale.ROOT, "controller reaction, a VM turning Healthy → its next create or delete (%d samples): p50 %.1f ms, p99 %.1f ms,"
              + " max %.1f ms%n", ms.size(), VmBootBenchmark.percentile(ms, 50), VmBootBenchmark.percentile(ms, 99),
              ms.stream().mapToDouble(d -> d).max().orElse(0));
          System.out.println("  every sample, sorted (ms): " + ms.stream().sorted().map(d -> String.format(Locale.ROOT, "%.0f", d)).toList());
          slow.forEach(line -> System.out.println("  over 80 ms: " + line));
        }
        client.resources(Cluster.class).inNamespace("default").withName("bench").delete();
        waitFor(() -> client.resources(VM.class).inNamespace("default").list().getItems().isEmpty(), 120);
      }
    } finally {
      stopAll(processes);
      Guest.killMachines(work);
      EtcdProcess.deleteTree(work);
    }
  }

  static VMSpec spec(String mark) {
    return new VMSpec(1, "128Mi", null, new VMSpec.Boot(null, "hello/vmlinux", "hello/initrd.cpio.gz", "console=ttyS0 rev=" + mark),
        null, null, new VMSpec.Network(null, List.of(new VMSpec.PortForward(8080, null))), null,
        List.of(new VMSpec.HealthCheck(HealthCheckType.HTTP, 8080, "/healthz", null, 1, 1, 3)), null, null);
  }

  static void create(KubernetesClient client, VMSpec spec) {
    Cluster c = new Cluster();
    c.setMetadata(new ObjectMetaBuilder().withName("bench").withNamespace("default").build());
    ClusterSpec.Strategy s = new ClusterSpec.Strategy(RolloutStrategyType.ROLLING_UPDATE, new IntOrString(0), new IntOrString(2), null,
        null, null, null);
    c.setSpec(new ClusterSpec(List.of(new ClusterSpec.Template("web", 6, spec)), s, null, null, null, null));
    client.resource(c).create();
  }

  static void update(KubernetesClient client, VMSpec spec) {
    client.resources(Cluster.class).inNamespace("default").withName("bench").edit(c -> {
      ClusterSpec s = c.getSpec();
      c.setSpec(new ClusterSpec(List.of(s.templates().getFirst().withSpec(spec)), s.strategy(), s.autoRollback(), s.revisionHistoryLimit(),
          s.progressDeadlineSeconds(), s.paused()));
      return c;
    });
  }

  /** Waits on a watch, not by polling, so that waiting takes no CPU from the boots being measured. */
  static void awaitComplete(KubernetesClient client) {
    client.resources(Cluster.class).inNamespace("default").withName("bench").waitUntilCondition(c -> c != null && c.getStatus() != null
        && c.getMetadata().getGeneration().equals(c.getStatus().observedGeneration())
        && Revisions.hash(c.getSpec().templates().getFirst().spec()).equals(c.getStatus().currentRevision())
        && "RolloutComplete".equals(Conditions.reason(c.getStatus().conditions(), "Progressing")), 600, TimeUnit.SECONDS);
  }

  interface Check {
    boolean ok() throws Exception;
  }

  static void waitFor(Check check, int seconds) throws Exception {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
    while (!check.ok()) {
      if (System.nanoTime() > deadline) {
        throw new IllegalStateException("not within " + seconds + " s");
      }
      LockSupport.parkNanos(5_000_000);
    }
  }

  /** Stops the processes a benchmark started, last started first: SIGTERM, then SIGKILL after 20 s. */
  static void stopAll(List<Process> processes) throws InterruptedException {
    for (Process p : processes.reversed()) {
      p.destroy();
      if (!p.waitFor(20, TimeUnit.SECONDS)) {
        p.destroyForcibly().waitFor();
      }
    }
  }

  static Process pctl(Path log, String... args) throws Exception {
    List<String> cmd = new ArrayList<>(List.of(Guest.repoRoot().resolve("bin/pctl").toString()));
    cmd.addAll(List.of(args));
    ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile());
    pb.environment().put("PROCURATOR_PREBUILT", "1");
    return pb.start();
  }
}
