package dev.procurator.pctl.bench;

import dev.procurator.api.v1alpha1.Build;
import dev.procurator.api.v1alpha1.BuildPhase;
import dev.procurator.api.v1alpha1.BuildSpec;
import dev.procurator.api.v1alpha1.Cluster;
import dev.procurator.api.v1alpha1.GitRepository;
import dev.procurator.api.v1alpha1.GitRepositorySpec;
import dev.procurator.api.v1alpha1.VM;
import dev.procurator.api.v1alpha1.VMPhase;
import dev.procurator.apiserver.testing.EtcdProcess;
import dev.procurator.apiserver.testing.TestNames;
import dev.procurator.nodeagent.hypervisor.qemu.QemuMicrovmRunner;
import dev.procurator.nodeagent.testing.Guest;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.client.Config;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import io.fabric8.kubernetes.client.Watch;
import io.fabric8.kubernetes.client.Watcher;
import io.fabric8.kubernetes.client.WatcherException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.Locale;

/**
 * Push to running: a commit to the example repository (examples/gitops, one VM) goes through
 * {@code pctl up} (sync, Build on this host's builder, push to its cache, rollout) until the new
 * VM is Running; each stage is timed from the watch events of the Build and the VMs. Against the
 * floors in the same run: {@code nix build} of the same flake alone, {@code nix copy} of its output
 * to a {@code file://} cache alone, and a bare boot of the guest. Run with bin/bench-build.
 */
public final class BuildChainBenchmark {
  static final String ATTR = "packages.x86_64-linux.web";

  public static void main(String[] args) throws Exception {
    int rounds = args.length > 0 ? Integer.parseInt(args[0]) : 3;
    Path images = Guest.images();
    QemuMicrovmRunner runner = QemuMicrovmRunner.forThisHost();
    System.out.printf(Locale.ROOT, "# Procurator push-to-running benchmark, %s, %d cores, accelerator %s%n", Instant.now(),
        Runtime.getRuntime().availableProcessors(), runner.accelerator());
    Path work = Files.createTempDirectory("build-bench");
    List<Process> processes = new ArrayList<>();
    try {
      Path repo = prepare(work, images);
      Path bare = work.resolve("web.git");

      Map<String, List<Double>> stages = chain(work, bare, repo, images, rounds, processes, work.resolve("up"));
      // the floors, on a commit of their own
      List<Double> nixBuild = new ArrayList<>();
      List<Double> nixCopy = new ArrayList<>();
      List<Double> bareBoot = new ArrayList<>();
      Path conf = work.resolve("nixconf");
      Files.createDirectories(conf);
      Files.writeString(conf.resolve("nix.conf"), "experimental-features = nix-command flakes\nbuild-users-group =\nsandbox = false\nsubstituters =\n");
      Path floorCache = work.resolve("floor-cache");
      String kernel = nix(conf, work, "nix", "eval", "--raw", "git+file://" + bare + "?ref=main#" + ATTR + ".kernel").strip();
      nix(conf, work, "nix", "copy", "--to", "file://" + floorCache + "?compression=none", kernel);
      for (int i = 1; i <= rounds; i++) {
        String version = "floor" + i + "." + TestNames.random(10);
        Files.writeString(repo.resolve("guest.nix"), "{ version = \"" + version + "\"; healthy = true; }\n");
        sh(repo, "git", "commit", "-qam", "floor " + version);
        String rev = sh(repo, "git", "rev-parse", "HEAD").strip();
        Path xdg = work.resolve("xdg-floor-" + i);
        long b0 = System.nanoTime();
        String out = nixIn(conf, xdg, "nix", "build", "--no-link", "--json", "git+file://" + repo + "?ref=main&rev=" + rev + "#" + ATTR);
        nixBuild.add((System.nanoTime() - b0) / 1e6);
        String path = out.replaceAll("(?s).*\"out\":\"([^\"]+)\".*", "$1");
        long c0 = System.nanoTime();
        nix(conf, work, "nix", "copy", "--to", "file://" + floorCache + "?compression=none", path);
        nixCopy.add((System.nanoTime() - c0) / 1e6);
      }
      for (int i = 0; i < rounds; i++) {
        bareBoot.add(VmBootBenchmark.bare(runner, images, work, i));
      }
      System.out.println();
      System.out.printf(Locale.ROOT, "push to running, the example cluster (1 VM), %d rounds, median ms:%n", rounds);
      stages.forEach((name, v) -> System.out.printf(Locale.ROOT, "  %-48s %8.0f   %s%n", name, VmBootBenchmark.percentile(v, 50),
          v.stream().map(d -> String.format(Locale.ROOT, "%.0f", d)).toList()));
      double b = VmBootBenchmark.percentile(nixBuild, 50);
      double c = VmBootBenchmark.percentile(nixCopy, 50);
      double boot = VmBootBenchmark.percentile(bareBoot, 50);
      System.out.printf(Locale.ROOT, "floors, median ms: nix build alone %.0f %s, nix copy to file:// alone %.0f %s, bare boot %.0f %s%n", b,
          fmt(nixBuild), c, fmt(nixCopy), boot, fmt(bareBoot));
      double total = VmBootBenchmark.percentile(stages.get("total: push → new VM Running"), 50);
      System.out.printf(Locale.ROOT, "sum of floors %.0f ms; the chain %.0f ms; overhead %.0f ms (target ≤ 2000 ms)%n", b + c + boot, total,
          total - (b + c + boot));
    } finally {
      RolloutBenchmark.stopAll(processes);
      Guest.killMachines(work);
      EtcdProcess.deleteTree(work);
    }
  }

  /** Makes {@code work/work}, a repository of examples/gitops, and pushes it to a bare {@code work/web.git}; the repository. */
  static Path prepare(Path work, Path images) throws Exception {
    Path repo = work.resolve("work");
    Path bare = work.resolve("web.git");
    sh(work, "git", "init", "-q", "--bare", "-b", "main", bare.toString());
    ProcessBuilder prep = new ProcessBuilder(Guest.repoRoot().resolve("examples/gitops/prepare.sh").toString(), repo.toString())
        .redirectErrorStream(true).redirectOutput(work.resolve("prepare.log").toFile());
    prep.environment().put("PROCURATOR_IMAGES", images.resolve("hello").toString());
    if (prep.start().waitFor() != 0) {
      throw new IllegalStateException(Files.readString(work.resolve("prepare.log")));
    }
    sh(repo, "git", "remote", "add", "origin", bare.toString());
    sh(repo, "git", "push", "-q", "origin", "main");
    return repo;
  }

  /**
   * Starts {@code pctl up} (data in {@code up}, with {@code upArgs}), has a GitRepository with
   * {@code build.deploy} sync {@code bare}, warms up with the first commit, then commits, pushes
   * and times {@code rounds} new guest versions from push to Running; stops that {@code pctl up}
   * and returns each stage's times (ms) by name.
   */
  static Map<String, List<Double>> chain(Path work, Path bare, Path repo, Path images, int rounds, List<Process> processes, Path up,
      String... upArgs) throws Exception {
    int port = EtcdProcess.freePort();
    int cachePort = EtcdProcess.freePort();
    Files.createDirectories(up);
    Path log = up.resolveSibling(up.getFileName() + ".log");
    List<String> args = new ArrayList<>(List.of("up", "--data-dir", up.toString(), "--listen", "127.0.0.1:" + port,
        "--cache-listen", "127.0.0.1:" + cachePort, "--images-dir", images.toString(), "--node-name", "bench"));
    args.addAll(List.of(upArgs));
    Process pctlUp = RolloutBenchmark.pctl(log, args.toArray(String[]::new));
    processes.add(pctlUp);
    RolloutBenchmark.waitFor(() -> Files.exists(up.resolve("kubeconfig")) && Files.readString(log).contains("Node agent"), 120);
    Config config = Config.fromKubeconfig(null, Files.readString(up.resolve("kubeconfig")), up.resolve("kubeconfig").toString());
    try (KubernetesClient client = new KubernetesClientBuilder().withConfig(config).build()) {
      Map<String, Long> at = new ConcurrentHashMap<>();
      String[] round = {""};
      try (Watch builds = client.resources(Build.class).inNamespace("default").watch(new Watcher<>() {
            @Override
            public void eventReceived(Action action, Build b) {
              long now = System.nanoTime();
              // keyed by the Build's name (web-SHA12): a late event of an earlier round's Build counts for that one
              String name = b.getMetadata().getName();
              at.putIfAbsent(name + "build-created", now);
              if (b.getStatus() != null && b.getStatus().phase() != null) {
                at.putIfAbsent(name + b.getStatus().phase().wire(), now);
              }
            }

            @Override
            public void onClose(WatcherException cause) {}
          });
          Watch vms = client.resources(VM.class).inNamespace("default").watch(new Watcher<>() {
            @Override
            public void eventReceived(Action action, VM vm) {
              long now = System.nanoTime();
              if (vm.getSpec().boot() == null || vm.getSpec().boot().closure() == null || !vm.getSpec().boot().closure().contains(round[0])) {
                return;
              }
              at.putIfAbsent(round[0] + "vm-created", now);
              if (vm.getStatus() != null && vm.getStatus().phase() == VMPhase.RUNNING) {
                at.putIfAbsent(round[0] + "vm-running", now);
              }
            }

            @Override
            public void onClose(WatcherException cause) {}
          })) {
        GitRepository r = new GitRepository();
        r.setMetadata(new ObjectMetaBuilder().withName("web").withNamespace("default").build());
        r.setSpec(new GitRepositorySpec("file://" + bare, "main", "clusters", 3600, true)
            .withBuild(new GitRepositorySpec.BuildTemplate(List.of(ATTR), null, new BuildSpec.Deploy("web", "web", null), 3)));
        // warm-up: the commit at hand (the first builds the shared kernel path and pushes it), and the Cluster starts
        round[0] = "web-guest-" + Files.readString(repo.resolve("guest.nix")).replaceAll("(?s).*version = \"([^\"]+)\".*", "$1");
        client.resource(r).create();
        RolloutBenchmark.waitFor(() -> at.containsKey(round[0] + "vm-running"), 600);
        Map<String, List<Double>> stages = new LinkedHashMap<>();
        for (int i = 1; i <= rounds; i++) {
          String version = "bench" + i + "." + TestNames.random(10);
          round[0] = "web-guest-" + version;
          Files.writeString(repo.resolve("guest.nix"), "{ version = \"" + version + "\"; healthy = true; }\n");
          sh(repo, "git", "commit", "-qam", "guest " + version);
          String build = "web-" + sh(repo, "git", "rev-parse", "HEAD").strip().substring(0, 12);
          long t0 = System.nanoTime();
          sh(repo, "git", "push", "-q", "origin", "main");
          // what the example post-receive hook does: ask for a sync now
          client.resources(GitRepository.class).inNamespace("default").withName("web").edit(g -> {
            g.getMetadata().getAnnotations().put("procurator.dev/requestedAt", Instant.now().toString());
            return g;
          });
          RolloutBenchmark.waitFor(() -> at.containsKey(round[0] + "vm-running"), 600);
          String k = round[0];
          String b = build;
          long created = at.get(b + "build-created");
          add(stages, "push → Build created (sync)", t0, created);
          add(stages, "Build created → Evaluating (queue, placement)", created, at.get(b + "Evaluating"));
          add(stages, "evaluate (and ask the cache)", at.get(b + "Evaluating"), at.get(b + "Building"));
          add(stages, "build", at.get(b + "Building"), at.get(b + "Pushing"));
          add(stages, "push to the cache", at.get(b + "Pushing"), at.get(b + "Succeeded"));
          add(stages, "Succeeded → new VM created (deploy, rollout)", at.get(b + "Succeeded"), at.get(k + "vm-created"));
          add(stages, "VM created → Running (pull, boot)", at.get(k + "vm-created"), at.get(k + "vm-running"));
          add(stages, "total: push → new VM Running", t0, at.get(k + "vm-running"));
        }
        return stages;
      }
    } finally {
      RolloutBenchmark.stopAll(List.of(pctlUp));
      processes.remove(pctlUp);
      Guest.killMachines(up);
    }
  }

  static String fmt(List<Double> v) {
    return v.stream().map(d -> String.format(Locale.ROOT, "%.0f", d)).toList().toString();
  }

  private static void add(Map<String, List<Double>> stages, String name, long from, long to) {
    stages.computeIfAbsent(name, k -> new ArrayList<>()).add((to - from) / 1e6);
  }

  static String sh(Path dir, String... cmd) throws Exception {
    List<String> all = new ArrayList<>(List.of(cmd));
    if (cmd[0].equals("git")) {
      all.addAll(1, List.of("-c", "user.name=bench", "-c", "user.email=bench@localhost"));
    }
    Process p = new ProcessBuilder(all).directory(dir.toFile()).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    if (!p.waitFor(300, TimeUnit.SECONDS) || p.exitValue() != 0) {
      throw new IllegalStateException(String.join(" ", cmd) + ": " + out);
    }
    return out;
  }

  private static String nix(Path conf, Path work, String... cmd) throws Exception {
    return nixIn(conf, work.resolve("xdg"), cmd);
  }

  private static String nixIn(Path conf, Path xdg, String... cmd) throws Exception {
    ProcessBuilder pb = new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.DISCARD);
    pb.environment().put("NIX_CONF_DIR", conf.toString());
    pb.environment().put("XDG_CACHE_HOME", xdg.toString());
    Process p = pb.start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    if (!p.waitFor(300, TimeUnit.SECONDS) || p.exitValue() != 0) {
      throw new IllegalStateException(String.join(" ", cmd) + " failed");
    }
    return out;
  }
}
