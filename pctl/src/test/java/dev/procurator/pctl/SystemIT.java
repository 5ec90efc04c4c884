package dev.procurator.pctl;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.procurator.nodeagent.hypervisor.RunningMachine;
import dev.procurator.nodeagent.testing.Guest;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The quick start end to end, every part in its own process as a user runs it: {@code pctl up}
 * (API server, controllers, an agent for host-a) boots examples/vm-hello.yaml to Running, {@code
 * pctl get -w} shows it happen, {@code pctl logs -f} streams its console; a second host joins with
 * {@code pctl agent}, survives kill -9 of its agent without rebooting its VM, and when it stops for
 * good its VM is rescheduled onto host-a.
 */
class SystemIT {
  private static final ObjectMapper JSON = new ObjectMapper();
  @TempDir Path tmp;

  private JsonNode vm(PctlUp up, String name) throws Exception {
    return JSON.readTree(up.request("GET", "/apis/procurator.dev/v1alpha1/namespaces/default/vms/" + name, null).body());
  }

  private static void stop(Process p) throws InterruptedException {
    if (p != null && p.isAlive()) {
      p.destroy();
      if (!p.waitFor(20, TimeUnit.SECONDS)) {
        p.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
      }
    }
  }

  @Test
  void quickStartVmRunsAndMovesWhenItsHostIsLost() throws Exception {
    Path images = Guest.images();
    Path hostB = tmp.resolve("host-b");
    Process watch = null;
    Process follow = null;
    Process agentB = null;
    try (PctlUp up = PctlUp.system("--node-name", "host-a", "--images-dir", images.toString(), "--node-grace-period", "8")) {
      Path watchOut = tmp.resolve("watch.out");
      watch = up.pctl(watchOut, "get", "vms", "-w");
      assertThat(up.run(tmp, "apply", "-f", Guest.repoRoot().resolve("examples/vm-hello.yaml").toString())).contains("vm/hello created");

      // Then it is scheduled onto host-a and boots; the watch shows each phase as it happens
      await().atMost(Duration.ofSeconds(120)).untilAsserted(() -> {
        JsonNode hello = vm(up, "hello");
        assertThat(hello.path("status").path("phase").asText()).isEqualTo("Running");
        assertThat(hello.path("spec").path("nodeName").asText()).isEqualTo("host-a");
      });
      // (the watch's JVM may start after the VM was scheduled, so it need not see every phase)
      await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> assertThat(Files.readString(watchOut)).contains("hello", "Running"));
      assertThat(vm(up, "hello").path("status").path("conditions").toString())
          .contains("\"type\":\"Scheduled\"", "\"reason\":\"Bound\"", "\"type\":\"Booted\"", "\"type\":\"Healthy\"");
      assertThat(up.run(tmp, "get", "nodes")).containsPattern("host-a\\s.*\\bTrue\\b");
      assertThat(up.run(tmp, "logs", "vm/hello")).contains("PROCURATOR-READY");

      Path followOut = tmp.resolve("follow.out");
      follow = up.pctl(followOut, "logs", "vm/hello", "-f");
      await().atMost(Duration.ofSeconds(20)).untilAsserted(() -> assertThat(Files.readString(followOut)).contains("PROCURATOR-READY"));
      assertThat(follow.isAlive()).isTrue();

      // When a second host joins and runs a VM
      // (with the cache, as the README joins a host: the example boots the closure named hello)
      List<String> agentArgs = List.of("agent", "--name", "host-b", "--data-dir", hostB.toString(), "--images-dir", images.toString(),
          "--lease-duration", "4", "--cache-url", "http://nix:" + Files.readString(up.dataDir.resolve("cache-read-token")).strip()
              + "@127.0.0.1:" + up.cachePort, "--cache-public-key", up.dataDir.resolve("cache-key.pub").toString());
      agentB = up.pctl(tmp.resolve("agent-b.out"), agentArgs.toArray(String[]::new));
      await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> assertThat(up.run(tmp, "get", "nodes")).containsPattern("host-b\\s.*\\bTrue\\b"));
      String moving = Files.readString(Guest.repoRoot().resolve("examples/vm-hello.yaml"))
          .replace("name: hello", "name: moving").replace("  cpu: 1", "  nodeName: host-b\n  cpu: 1");
      Path movingFile = tmp.resolve("moving.yaml");
      Files.writeString(movingFile, moving);
      up.run(tmp, "apply", "-f", movingFile.toString());
      await().atMost(Duration.ofSeconds(120)).untilAsserted(() ->
          assertThat(vm(up, "moving").path("status").path("phase").asText()).isEqualTo("Running"));
      long pid = Long.parseLong(Files.readString(hostB.resolve("vms/default/moving/qemu.pid")).trim());

      // When its agent is killed with -9 and started again, Then the VM ran on and is adopted, not rebooted
      agentB.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
      assertThat(ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false)).isTrue();
      agentB = up.pctl(tmp.resolve("agent-b-2.out"), agentArgs.toArray(String[]::new));
      Path agentLog = tmp.resolve("agent-b-2.out");
      await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> assertThat(Files.readString(agentLog)).contains("adopted running qemu pid " + pid));
      assertThat(Files.readString(hostB.resolve("vms/default/moving/qemu.pid")).trim()).isEqualTo(Long.toString(pid));
      assertThat(vm(up, "moving").path("status").path("phase").asText()).isEqualTo("Running");

      // When host-b's agent stops for good, Then host-b turns NotReady and the VM is rescheduled onto host-a
      stop(agentB);
      await().atMost(Duration.ofSeconds(90)).untilAsserted(() -> {
        JsonNode m = vm(up, "moving");
        assertThat(m.path("spec").path("nodeName").asText()).isEqualTo("host-a");
        assertThat(m.path("status").path("phase").asText()).isEqualTo("Running");
        assertThat(m.path("status").path("conditions").toString()).contains("Rescheduled", "node host-b stopped renewing its lease");
      });
      // it was moved no sooner than the grace period (8 s) after host-b turned NotReady, by the controller's own clock
      JsonNode lostNode = JSON.readTree(up.request("GET", "/apis/procurator.dev/v1alpha1/nodes/host-b", null).body());
      java.time.Instant notReady = java.time.Instant.parse(condition(lostNode, "Ready").path("lastTransitionTime").asText());
      java.time.Instant moved = java.time.Instant.parse(condition(vm(up, "moving"), "Rescheduled").path("lastTransitionTime").asText());
      assertThat(Duration.between(notReady, moved)).as("from NotReady to rescheduled (timestamps in whole seconds)")
          .isGreaterThanOrEqualTo(Duration.ofSeconds(7));
      assertThat(up.run(tmp, "get", "nodes")).containsPattern("host-b\\s.*\\bFalse\\b");

      // When a VM is deleted, Then pctl waits until its agent has powered it off and the object is gone
      long helloPid = Long.parseLong(Files.readString(up.dataDir.resolve("agent/vms/default/hello/qemu.pid")).trim());
      assertThat(up.run(tmp, "delete", "vm", "hello")).contains("vm/hello deleted");
      // logs -f began long before: the power-off line the guest printed just now reaches it only if it streams live
      await().atMost(Duration.ofSeconds(20)).untilAsserted(() -> assertThat(Files.readString(followOut)).contains("PROCURATOR-POWEROFF"));
      assertThat(new RunningMachine(helloPid, null).alive()).as("QEMU has exited").isFalse();
      assertThat(up.request("GET", "/apis/procurator.dev/v1alpha1/namespaces/default/vms/hello", null).statusCode()).isEqualTo(404);
    } finally {
      stop(follow);
      stop(watch);
      stop(agentB);
      Guest.killMachines(hostB);
      // what the agents said, for a failure's report
      try (var outs = Files.newDirectoryStream(tmp, "agent-*.out")) {
        for (Path f : outs) {
          System.out.println("---- " + f.getFileName() + "\n" + Files.readString(f));
        }
      }
    }
  }

  private static JsonNode condition(JsonNode object, String type) {
    for (JsonNode c : object.path("status").path("conditions")) {
      if (c.path("type").asText().equals(type)) {
        return c;
      }
    }
    throw new AssertionError("no " + type + " condition in " + object.path("status"));
  }
}
