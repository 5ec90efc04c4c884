package dev.procurator.pctl.bench;

import dev.procurator.api.runtime.Conditions;
import dev.procurator.api.v1alpha1.GitRepository;
import dev.procurator.api.v1alpha1.VM;
import dev.procurator.apiserver.testing.EtcdProcess;
import dev.procurator.nodeagent.testing.Guest;
import io.fabric8.kubernetes.client.Config;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import io.fabric8.kubernetes.client.Watch;
import io.fabric8.kubernetes.client.Watcher;
import io.fabric8.kubernetes.client.WatcherException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.Locale;

/**
 * The GitOps controller's speed, against kubectl in the same run: an initial sync of 1,000
 * manifests vs {@code kubectl apply -f DIR} of the same files into a fresh namespace; the time
 * from {@code git push} (with the example post-receive hook) to the change in a watch; and the
 * CPU a sync with nothing to change costs. Run with {@code bin/bench-gitops [manifests] [pushes]}.
 */
public final class GitOpsBenchmark {
  private GitOpsBenchmark() {}

  public static void main(String[] args) throws Exception {
    int count = args.length > 0 ? Integer.parseInt(args[0]) : 1000;
    int pushes = args.length > 1 ? Integer.parseInt(args[1]) : 15;
    System.out.printf(Locale.ROOT, "# Procurator GitOps benchmark, %s, %d cores, %d manifests%n", Instant.now(), Runtime.getRuntime().availableProcessors(),
        count);
    Path work = Files.createTempDirectory("gitops-bench");
    List<Process> processes = new ArrayList<>();
    try {
      int port = EtcdProcess.freePort();
      Path up = work.resolve("up");
      Files.createDirectories(up);
      Process pctlUp = RolloutBenchmark.pctl(work.resolve("up.log"), "up", "--data-dir", up.toString(), "--listen", "127.0.0.1:" + port,
          "--cache-listen", "none", "--no-agent");
      processes.add(pctlUp);
      RolloutBenchmark.waitFor(() -> Files.exists(up.resolve("kubeconfig")) && Files.readString(work.resolve("up.log")).contains("Procurator is up"), 60);
      Path kubeconfig = up.resolve("kubeconfig");

      // the manifests: one folder for kubectl, the same files committed to a bare repository
      Path bare = work.resolve("fleet.git");
      Path clone = work.resolve("clone");
      git(work, "init", "-q", "--bare", "-b", "main", bare.toString());
      git(work, "init", "-q", "-b", "main", clone.toString());
      Path dir = clone.resolve("vms");
      Files.createDirectories(dir);
      for (int i = 0; i < count; i++) {
        Files.writeString(dir.resolve(String.format(Locale.ROOT, "vm-%04d.yaml", i)), vm(String.format(Locale.ROOT, "vm-%04d", i), 1));
      }
      git(clone, "add", "-A");
      git(clone, "commit", "-q", "-m", "fleet");
      Path token = work.resolve("webhook-token");
      Files.writeString(token, "bench-token");
      Path hook = bare.resolve("hooks").resolve("post-receive");
      Files.copy(Guest.repoRoot().resolve("examples/git-hooks/post-receive"), hook, StandardCopyOption.REPLACE_EXISTING);
      hook.toFile().setExecutable(true);
      git(bare, "config", "procurator.url", "https://127.0.0.1:" + port);
      git(bare, "config", "procurator.cacert", up.resolve("pki").resolve("ca.crt").toString());
      git(bare, "config", "procurator.repository", "default/fleet");
      git(bare, "config", "procurator.tokenFile", token.toString());
      git(clone, "push", "-q", bare.toString(), "main");
      String commit = git(clone, "rev-parse", "HEAD").trim();

      // 1. kubectl apply -f DIR into a fresh namespace
      long k0 = System.nanoTime();
      run(work, "kubectl", "--kubeconfig", kubeconfig.toString(), "apply", "-f", dir.toString(), "-n", "kubectl-bench");
      double kubectlSeconds = (System.nanoTime() - k0) / 1e9;
      System.out.printf(Locale.ROOT, "kubectl apply -f DIR (%d files) into a fresh namespace: %.2f s%n", count, kubectlSeconds);

      Config config = Config.fromKubeconfig(null, Files.readString(kubeconfig), kubeconfig.toString());
      try (KubernetesClient client = new KubernetesClientBuilder().withConfig(config).build()) {
        // 2. the initial sync of the same commit into another fresh namespace
        Path repo = work.resolve("repo.yaml");
        Files.writeString(repo, String.format(Locale.ROOT, """
            apiVersion: procurator.dev/v1alpha1
            kind: Secret
            metadata:
              name: fleet-webhook
              namespace: default
            spec:
              stringData:
                token: bench-token
            ---
            # the repository applies as system:gitops:default:fleet: let it write workloads in gitops-bench
            apiVersion: rbac.authorization.k8s.io/v1
            kind: RoleBinding
            metadata:
              name: fleet-deploys
              namespace: gitops-bench
            roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: developer}
            subjects: [{apiGroup: rbac.authorization.k8s.io, kind: User, name: "system:gitops:default:fleet"}]
            ---
            apiVersion: procurator.dev/v1alpha1
            kind: GitRepository
            metadata:
              name: fleet
              namespace: default
            spec:
              url: file://%s
              path: vms
              intervalSeconds: 3600
              targetNamespace: gitops-bench
              webhookSecretRef:
                name: fleet-webhook
            """, bare));
        long g0 = System.nanoTime();
        run(work, "kubectl", "--kubeconfig", kubeconfig.toString(), "apply", "-f", repo.toString());
        RolloutBenchmark.waitFor(() -> applied(client, commit), 600);
        double gitopsSeconds = (System.nanoTime() - g0) / 1e9;
        int synced = client.resources(VM.class).inNamespace("gitops-bench").list().getItems().size();
        System.out.printf(Locale.ROOT, "GitOps initial sync (GitRepository created → Ready at the commit, %d VMs): %.2f s → %.1f× kubectl (target ≥ 2×)%n",
            synced, gitopsSeconds, kubectlSeconds / gitopsSeconds);

        // 3. a sync with no change: CPU of the pctl up process (API server and controllers) per sync
        long pid = pctlUp.pid(); // bin/pctl execs the JVM: this is the process of the API server and controllers
        double idleRate = quiet(pid);
        int requests = 10;
        double before = cpuSeconds(pid);
        long r0 = System.nanoTime();
        for (int i = 0; i < requests; i++) {
          String at = "bench-" + i;
          run(work, "kubectl", "--kubeconfig", kubeconfig.toString(), "annotate", "--overwrite", "gitrepository", "fleet", "-n", "default",
              "procurator.dev/requestedAt=" + at);
          RolloutBenchmark.waitFor(() -> at.equals(client.resources(GitRepository.class).inNamespace("default").withName("fleet").get()
              .getStatus().lastHandledRequest()), 120);
        }
        double wall = (System.nanoTime() - r0) / 1e9;
        double cpu = cpuSeconds(pid) - before - idleRate * wall;
        System.out.printf(Locale.ROOT, "a sync with no change (fetch, list %d objects, drift from managedFields, nothing written), %d requested in a row: "
            + "%.0f ms wall, %.3f s CPU each (API server and controller in one process; its idle %.3f cores subtracted)%n",
            count, requests, wall / requests * 1000, cpu / requests, idleRate);

        // 4. git push → the change in a watch
        Map<String, Long> seen = new ConcurrentHashMap<>();
        try (Watch w = client.resources(VM.class).inNamespace("gitops-bench").watch(new Watcher<>() {
          @Override
          public void eventReceived(Action action, VM vm) {
            seen.putIfAbsent(vm.getMetadata().getName() + "@" + vm.getSpec().cpu(), System.nanoTime());
          }

          @Override
          public void onClose(WatcherException cause) {
          }
        })) {
          List<Double> latencies = new ArrayList<>();
          for (int i = 0; i < pushes; i++) {
            String name = String.format(Locale.ROOT, "vm-%04d", i);
            int cpuValue = 2 + i;
            Files.writeString(dir.resolve(name + ".yaml"), vm(name, cpuValue));
            git(clone, "commit", "-q", "-am", "grow " + name);
            long t0 = System.nanoTime();
            git(clone, "push", "-q", bare.toString(), "main");
            String key = name + "@" + cpuValue;
            RolloutBenchmark.waitFor(() -> seen.containsKey(key), 60);
            latencies.add((seen.get(key) - t0) / 1e6);
          }
          List<Double> sorted = new ArrayList<>(latencies);
          sorted.sort(Double::compare);
          System.out.printf(Locale.ROOT, "git push (post-receive hook → webhook) → the change in a watch, %d pushes: p50 %.0f ms, p90 %.0f ms, max %.0f ms"
              + " (target p50 ≤ 1 s)%n", pushes, VmBootBenchmark.percentile(sorted, 50), VmBootBenchmark.percentile(sorted, 90),
              sorted.getLast());
        }
      }
    } finally {
      RolloutBenchmark.stopAll(processes);
    }
  }

  private static boolean applied(KubernetesClient client, String commit) {
    GitRepository r = client.resources(GitRepository.class).inNamespace("default").withName("fleet").get();
    return r != null && r.getStatus() != null && commit.equals(r.getStatus().lastAppliedCommit())
        && Conditions.isTrue(r.getStatus().conditions(), "Ready");
  }

  static String vm(String name, int cpu) {
    return "apiVersion: procurator.dev/v1alpha1\nkind: VM\nmetadata:\n  name: " + name + "\n  labels:\n    app: fleet\nspec:\n  cpu: " + cpu
        + "\n  memory: 128Mi\n  boot:\n    kernel: hello/vmlinux\n    initrd: hello/initrd.cpio.gz\n";
  }

  /** Waits until the process has settled (under 0.05 cores over 3 s, or 3 minutes passed) and returns its rate then. */
  static double quiet(long pid) throws Exception {
    double rate = Double.MAX_VALUE;
    long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(3);
    while (rate > 0.05 && System.nanoTime() < deadline) {
      double a = cpuSeconds(pid);
      Thread.sleep(3_000);
      rate = (cpuSeconds(pid) - a) / 3.0;
    }
    return rate;
  }

  /** User and system CPU seconds of a process, from /proc. */
  static double cpuSeconds(long pid) throws Exception {
    String stat = Files.readString(Path.of("/proc", Long.toString(pid), "stat"));
    String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
    return (Long.parseLong(f[11]) + Long.parseLong(f[12])) / 100.0;
  }

  static String git(Path in, String... args) throws Exception {
    List<String> all = new ArrayList<>(List.of("git", "-c", "user.name=Bench", "-c", "user.email=bench@example.org"));
    all.addAll(List.of(args));
    return run(in, all.toArray(String[]::new));
  }

  static String run(Path in, String... cmd) throws Exception {
    Path out = Files.createTempFile(in, "run", ".out");
    Process p = new ProcessBuilder(cmd).directory(in.toFile()).redirectErrorStream(true).redirectOutput(out.toFile()).start();
    if (!p.waitFor(600, TimeUnit.SECONDS) || p.exitValue() != 0) {
      p.destroyForcibly();
      throw new IllegalStateException(String.join(" ", cmd) + " failed: " + Files.readString(out, StandardCharsets.UTF_8));
    }
    return Files.readString(out, StandardCharsets.UTF_8);
  }
}
