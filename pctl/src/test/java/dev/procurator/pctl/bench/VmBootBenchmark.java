package dev.procurator.pctl.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.procurator.apiserver.testing.EtcdProcess;
import dev.procurator.apiserver.testing.TestTls;
import dev.procurator.nodeagent.hypervisor.LaunchPlan;
import dev.procurator.nodeagent.hypervisor.MachineSpec;
import dev.procurator.nodeagent.hypervisor.qemu.QemuMicrovmRunner;
import dev.procurator.nodeagent.testing.Guest;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
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
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import java.util.stream.Stream;
import javax.net.ssl.SSLContext;
import java.util.Locale;

/**
 * VM start-up through Procurator against its baseline, in one run with the same kernel and
 * initramfs: a bare {@code qemu-system-x86_64} (the very command line the agent plans) from exec to
 * the guest's ready line, next to {@code POST} of a VM to status Running (seen on a watch), 10
 * times each, one after another; then 8 VMs created at once; then a kill -9 and restart of the node
 * agent with those 8 running, timed until it has adopted all of them, checking that none was
 * rebooted. The control plane runs as {@code pctl up --no-agent}, the agent as {@code pctl agent},
 * each in its own JVM. Run with bin/bench-vms.
 */
public final class VmBootBenchmark {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final String READY = "PROCURATOR-READY";

  public static void main(String[] args) throws Exception {
    int sequential = args.length > 0 ? Integer.parseInt(args[0]) : 10;
    int together = args.length > 1 ? Integer.parseInt(args[1]) : 8;
    Path images = Guest.images();
    QemuMicrovmRunner runner = QemuMicrovmRunner.forThisHost();
    System.out.printf(Locale.ROOT, "# Procurator VM start-up benchmark, %s, %d cores, accelerator %s%n", Instant.now(),
        Runtime.getRuntime().availableProcessors(), runner.accelerator());

    Path work = Files.createTempDirectory("vm-bench");
    try {
      try (Cluster cluster = Cluster.start(work, images)) {
        // alternating, so that drift in the host's speed affects both the same
        List<Double> bare = new ArrayList<>();
        List<Double> viaApi = new ArrayList<>();
        for (int i = 0; i < sequential; i++) {
          bare.add(bare(runner, images, work, i));
          viaApi.add(cluster.bootOne("seq-" + i));
        }
        double bareP50 = percentile(bare, 50);
        double apiP50 = percentile(viaApi, 50);
        System.out.println();
        System.out.println("| " + sequential + " sequential boots to the ready line | p50 | p95 |");
        System.out.println("|---|---|---|");
        System.out.printf(Locale.ROOT, "| bare qemu-system-x86_64, exec → ready line | %.0f ms | %.0f ms |%n", bareP50, percentile(bare, 95));
        System.out.printf(Locale.ROOT, "| Procurator, POST → status Running | %.0f ms | %.0f ms |%n", apiP50, percentile(viaApi, 95));
        System.out.printf(Locale.ROOT, "| **overhead** | **%.0f ms** | %.0f ms |%n", apiP50 - bareP50, percentile(viaApi, 95) - percentile(bare, 95));

        long availBefore = memAvailable();
        long t0 = System.nanoTime();
        List<String> names = new ArrayList<>();
        for (int i = 0; i < together; i++) {
          names.add("par-" + i);
        }
        cluster.bootMany(names);
        double allMs = (System.nanoTime() - t0) / 1e6;
        long rss = cluster.qemuRss();
        long used = availBefore - memAvailable();
        System.out.println();
        System.out.printf(Locale.ROOT, "%d VMs created at once: all Running after %.1f s; QEMU RSS %d MiB in all (%d MiB each);"
            + " host MemAvailable down %d MiB%n", together, allMs / 1000, rss >> 20, (rss / together) >> 20, used >> 20);

        double idle = cluster.agentCores(Duration.ofSeconds(Long.getLong("bench.idleSeconds", 60)));
        System.out.printf(Locale.ROOT, "agent CPU with %d idle running VMs: %.4f cores (over %d s)%n", together, idle,
            Long.getLong("bench.idleSeconds", 60));

        Map<String, Long> pids = cluster.pids(names);
        double adoptMs = cluster.restartAgent(names.size());
        Map<String, Long> after = cluster.pids(names);
        boolean reboots = cluster.anyRebooted(names);
        System.out.printf(Locale.ROOT, "agent kill -9 and restart with %d VMs running: all adopted %.2f s after the new agent's exec;"
            + " QEMU PIDs unchanged: %s; any guest rebooted: %s%n", names.size(), adoptMs / 1000, pids.equals(after), reboots);
      }
    } finally {
      Guest.killMachines(work);
      if (Boolean.getBoolean("bench.keep")) {
        System.out.println("logs kept in " + work);
      } else {
        EtcdProcess.deleteTree(work);
      }
    }
  }

  /** Milliseconds from exec of the agent's own QEMU command line to the ready line on the console. */
  static double bare(QemuMicrovmRunner runner, Path images, Path work, int i) throws Exception {
    {
      Path dir = work.resolve("bare-" + i);
      MachineSpec spec = new MachineSpec("bare-" + i, 1, 128, images.resolve("hello/vmlinux"), images.resolve("hello/initrd.cpio.gz"),
          "console=ttyS0", List.of(new MachineSpec.PortForward(EtcdProcess.freePort(), 8080)), dir);
      LaunchPlan plan = runner.plan(spec);
      Files.createDirectories(dir);
      long t0 = System.nanoTime();
      Process p = new ProcessBuilder(plan.command()).redirectErrorStream(true).redirectOutput(dir.resolve("out").toFile()).start();
      while (!(Files.exists(plan.serialLog()) && Files.readString(plan.serialLog(), StandardCharsets.ISO_8859_1).contains(READY))) {
        if (System.nanoTime() - t0 > TimeUnit.SECONDS.toNanos(120)) {
          throw new IllegalStateException("bare boot " + i + " did not get ready");
        }
        LockSupport.parkNanos(2_000_000);
      }
      double ms = (System.nanoTime() - t0) / 1e6;
      p.waitFor(10, TimeUnit.SECONDS);
      long pid = Long.parseLong(Files.readString(plan.pidFile()).trim());
      ProcessHandle.of(pid).ifPresent(h -> {
        h.destroyForcibly();
        h.onExit().join();
      });
      return ms;
    }
  }

  static double percentile(List<Double> values, int p) {
    List<Double> s = values.stream().sorted().toList();
    int idx = (int) Math.ceil(p / 100.0 * s.size()) - 1;
    return s.get(Math.max(0, Math.min(idx, s.size() - 1)));
  }

  static long memAvailable() throws IOException {
    for (String line : Files.readAllLines(Path.of("/proc/meminfo"))) {
      if (line.startsWith("MemAvailable:")) {
        return Long.parseLong(line.replaceAll("\\D", "")) * 1024;
      }
    }
    return 0;
  }

  /** pctl up (no agent) and pctl agent, in their own JVMs, and a watch recording when each VM turned Running. */
  static final class Cluster implements AutoCloseable {
    private final Path dir;
    private final Path images;
    private final int port;
    private final String token;
    private final HttpClient http;
    private final Process up;
    private Process agent;
    private final Map<String, Long> runningAt = new ConcurrentHashMap<>();
    private final Thread watch;

    private Cluster(Path dir, Path images, int port, Process up) throws Exception {
      this.dir = dir;
      this.images = images;
      this.port = port;
      this.up = up;
      this.token = Files.readString(dir.resolve("up/admin-token")).trim();
      SSLContext ssl = TestTls.trusting(dir.resolve("up/pki/ca.crt"));
      this.http = HttpClient.newBuilder().sslContext(ssl).build();
      this.watch = Thread.ofPlatform().daemon().start(this::watchLoop);
    }

    static Cluster start(Path work, Path images) throws Exception {
      int port = EtcdProcess.freePort();
      Path upDir = work.resolve("up");
      Files.createDirectories(upDir);
      ProcessBuilder upCommand = new ProcessBuilder(pctl(), "up", "--data-dir", upDir.toString(),
          "--listen", "127.0.0.1:" + port, "--cache-listen", "none", "--no-agent");
      upCommand.environment().put("PROCURATOR_PREBUILT", "1");
      Process up = upCommand
          .redirectErrorStream(true).redirectOutput(work.resolve("up.log").toFile()).start();
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
      while (!Files.exists(upDir.resolve("kubeconfig")) || !Files.readString(work.resolve("up.log")).contains("Procurator is up")) {
        if (System.nanoTime() > deadline || !up.isAlive()) {
          throw new IllegalStateException("pctl up did not start: " + Files.readString(work.resolve("up.log")));
        }
        LockSupport.parkNanos(50_000_000);
      }
      Cluster c = new Cluster(work, images, port, up);
      c.startAgent("agent-1.log");
      return c;
    }

    /** bin/pctl, which runs the jar with the JVM options users get (it execs java, so its pid is the JVM's). */
    private static String pctl() {
      return Guest.repoRoot().resolve("bin/pctl").toString();
    }

    private long startAgent(String log) throws Exception {
      long t0 = System.nanoTime();
      ProcessBuilder command = new ProcessBuilder(pctl(), "--kubeconfig",
          dir.resolve("up/kubeconfig").toString(), "agent", "--name", "bench", "--data-dir", dir.resolve("agent").toString(),
          "--images-dir", images.toString()).redirectErrorStream(true).redirectOutput(dir.resolve(log).toFile());
      command.environment().put("PROCURATOR_PREBUILT", "1");
      agent = command.start();
      return t0;
    }

    private HttpRequest.Builder req(String path) {
      return HttpRequest.newBuilder(URI.create("https://127.0.0.1:" + port + path)).header("Authorization", "Bearer " + token);
    }

    private void watchLoop() {
      while (true) {
        try {
          HttpResponse<java.io.InputStream> r = http.send(req("/apis/procurator.dev/v1alpha1/namespaces/default/vms?watch=1").GET().build(),
              HttpResponse.BodyHandlers.ofInputStream());
          try (BufferedReader in = new BufferedReader(new InputStreamReader(r.body(), StandardCharsets.UTF_8))) {
            String line;
            while ((line = in.readLine()) != null) {
              long now = System.nanoTime();
              JsonNode o = JSON.readTree(line).path("object");
              if ("Running".equals(o.path("status").path("phase").asText())) {
                runningAt.putIfAbsent(o.path("metadata").path("name").asText(), now);
              }
            }
          }
        } catch (IOException e) {
          LockSupport.parkNanos(100_000_000);
        } catch (InterruptedException e) {
          return;
        }
      }
    }

    private void create(String name) throws Exception {
      String body = String.format(Locale.ROOT, """
          {"apiVersion":"procurator.dev/v1alpha1","kind":"VM","metadata":{"name":"%s"},
           "spec":{"cpu":1,"memory":"128Mi","boot":{"kernel":"hello/vmlinux","initrd":"hello/initrd.cpio.gz","cmdline":"console=ttyS0"},
                   "network":{"ports":[{"guest":8080}]}}}""", name);
      HttpResponse<String> r = http.send(req("/apis/procurator.dev/v1alpha1/namespaces/default/vms")
          .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofString());
      if (r.statusCode() != 201) {
        throw new IllegalStateException("create " + name + ": " + r.statusCode() + " " + r.body());
      }
    }

    private int status(String name) throws Exception {
      return http.send(req("/apis/procurator.dev/v1alpha1/namespaces/default/vms/" + name).GET().build(),
          HttpResponse.BodyHandlers.discarding()).statusCode();
    }

    private void awaitRunning(List<String> names, Duration timeout) {
      long deadline = System.nanoTime() + timeout.toNanos();
      while (!names.stream().allMatch(runningAt::containsKey)) {
        if (System.nanoTime() > deadline) {
          throw new IllegalStateException("not Running in time: " + names.stream().filter(n -> !runningAt.containsKey(n)).toList());
        }
        LockSupport.parkNanos(5_000_000);
      }
    }

    /** Milliseconds from POST to the watch showing Running; then deletes the VM and waits until it is gone. */
    double bootOne(String name) throws Exception {
      long t0 = System.nanoTime();
      create(name);
      awaitRunning(List.of(name), Duration.ofSeconds(120));
      double ms = (runningAt.get(name) - t0) / 1e6;
      http.send(req("/apis/procurator.dev/v1alpha1/namespaces/default/vms/" + name).DELETE().build(), HttpResponse.BodyHandlers.discarding());
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
      while (status(name) != 404 && System.nanoTime() < deadline) {
        LockSupport.parkNanos(20_000_000);
      }
      return ms;
    }

    void bootMany(List<String> names) throws Exception {
      for (String n : names) {
        create(n);
      }
      awaitRunning(names, Duration.ofMinutes(5));
    }

    Map<String, Long> pids(List<String> names) throws IOException {
      Map<String, Long> out = new HashMap<>();
      for (String n : names) {
        out.put(n, Long.parseLong(Files.readString(dir.resolve("agent/vms/default").resolve(n).resolve("qemu.pid")).trim()));
      }
      return out;
    }

    long qemuRss() throws IOException {
      long total = 0;
      for (long pid : pids(runningAt.keySet().stream().filter(n -> n.startsWith("par-")).toList()).values()) {
        for (String line : Files.readAllLines(Path.of("/proc", Long.toString(pid), "status"))) {
          if (line.startsWith("VmRSS:")) {
            total += Long.parseLong(line.replaceAll("\\D", "")) * 1024;
          }
        }
      }
      return total;
    }

    boolean anyRebooted(List<String> names) throws IOException {
      for (String n : names) {
        Path log = dir.resolve("agent/vms/default").resolve(n).resolve("serial.log");
        String text = Files.readString(log, StandardCharsets.ISO_8859_1);
        if (text.indexOf(READY) != text.lastIndexOf(READY) || Files.exists(log.resolveSibling("serial.log.1"))) {
          return true;
        }
      }
      return false;
    }

    /** CPU the agent's JVM used over {@code window} (after a short settle), in cores. */
    double agentCores(Duration window) throws Exception {
      LockSupport.parkNanos(TimeUnit.SECONDS.toNanos(5));
      long before = cpuTicks(agent.pid());
      long t0 = System.nanoTime();
      LockSupport.parkNanos(window.toNanos());
      long ticks = cpuTicks(agent.pid()) - before;
      double seconds = (System.nanoTime() - t0) / 1e9;
      return ticks / 100.0 / seconds;
    }

    /** utime + stime of a process, in clock ticks (100 a second on Linux). */
    static long cpuTicks(long pid) throws IOException {
      String stat = Files.readString(Path.of("/proc", Long.toString(pid), "stat"));
      String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
      return Long.parseLong(f[11]) + Long.parseLong(f[12]);
    }

    /** kill -9 of the agent, a new one, and milliseconds from its exec until it logged adopting {@code count} machines. */
    double restartAgent(int count) throws Exception {
      agent.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
      long t0 = startAgent("agent-2.log");
      Path log = dir.resolve("agent-2.log");
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
      while (true) {
        long now = System.nanoTime();
        long adopted = Files.exists(log) ? Files.readString(log).lines().filter(l -> l.contains("adopted running qemu")).count() : 0;
        if (adopted >= count) {
          return (now - t0) / 1e6;
        }
        if (now > deadline) {
          throw new IllegalStateException("the new agent adopted " + adopted + " of " + count + ": " + Files.readString(log));
        }
        LockSupport.parkNanos(5_000_000);
      }
    }

    @Override
    public void close() throws Exception {
      watch.interrupt();
      for (Process p : Stream.of(agent, up).filter(p -> p != null).toList()) {
        p.destroy();
        if (!p.waitFor(20, TimeUnit.SECONDS)) {
          p.destroyForcibly();
        }
      }
    }
  }
}
