package dev.procurator.pctl.bench;

import dev.procurator.apiserver.testing.EtcdProcess;
import dev.procurator.nodeagent.hypervisor.qemu.QemuMicrovmRunner;
import dev.procurator.nodeagent.testing.Guest;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * What the build sandbox costs: push to running ({@link BuildChainBenchmark#chain}) with Builds in
 * nix's sandbox as build users, against the same chain on a host that cannot sandbox and is let
 * build as root ({@code --allow-unsandboxed-builds}, with build users taken away by the node's
 * nix settings), in blocks that alternate (on, off, on, off…) in one run on one machine. Run
 * with bin/bench-build-sandbox.
 */
public final class BuildSandboxBenchmark {
  public static void main(String[] args) throws Exception {
    int rounds = args.length > 0 ? Integer.parseInt(args[0]) : 3;
    int blocks = args.length > 1 ? Integer.parseInt(args[1]) : 2;
    Path images = Guest.images();
    QemuMicrovmRunner runner = QemuMicrovmRunner.forThisHost();
    System.out.printf(Locale.ROOT, "# Procurator build sandbox benchmark, %s, %d cores, accelerator %s, %d blocks of %d rounds each way%n",
        Instant.now(), Runtime.getRuntime().availableProcessors(), runner.accelerator(), blocks, rounds);
    Path work = Files.createTempDirectory("sandbox-bench");
    List<Process> processes = new ArrayList<>();
    try {
      Path repo = BuildChainBenchmark.prepare(work, images);
      Path bare = work.resolve("web.git");
      Path noBuildUsers = work.resolve("no-build-users.conf");
      Files.writeString(noBuildUsers, "build-users-group = procurator-bench-no-such-group\n");
      Map<String, List<Double>> on = new LinkedHashMap<>();
      Map<String, List<Double>> off = new LinkedHashMap<>();
      for (int b = 1; b <= blocks; b++) {
        merge(on, BuildChainBenchmark.chain(work, bare, repo, images, rounds, processes, work.resolve("up-on-" + b)));
        merge(off, BuildChainBenchmark.chain(work, bare, repo, images, rounds, processes, work.resolve("up-off-" + b), "--build-nix-conf",
            noBuildUsers.toString(), "--allow-unsandboxed-builds"));
      }
      System.out.println();
      System.out.printf(Locale.ROOT, "push to running, the example cluster (1 VM), %d rounds each way, median ms:%n", rounds * blocks);
      System.out.printf(Locale.ROOT, "  %-48s %8s %8s %8s   %s | %s%n", "stage", "sandbox", "none", "diff", "rounds with sandbox", "without");
      on.forEach((name, v) -> {
        double a = VmBootBenchmark.percentile(v, 50);
        double n = VmBootBenchmark.percentile(off.get(name), 50);
        System.out.printf(Locale.ROOT, "  %-48s %8.0f %8.0f %+8.0f   %s | %s%n", name, a, n, a - n, BuildChainBenchmark.fmt(v),
            BuildChainBenchmark.fmt(off.get(name)));
      });
    } finally {
      RolloutBenchmark.stopAll(processes);
      Guest.killMachines(work);
      EtcdProcess.deleteTree(work);
    }
  }

  private static void merge(Map<String, List<Double>> into, Map<String, List<Double>> stages) {
    stages.forEach((k, v) -> into.computeIfAbsent(k, x -> new ArrayList<>()).addAll(v));
  }
}
