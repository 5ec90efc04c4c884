package dev.procurator.pctl;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.procurator.nodeagent.testing.Guest;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Two hosts with the example guest's kernel and initrd, until one loses them: the VM there is moved
 * to the other when it must boot again (with an Event, never Failed in a loop), new VMs booted from
 * those files go only where the files are, and a VM no host can boot waits Pending, saying why.
 */
class BootSourcePlacementIT {
  private static final ObjectMapper JSON = new ObjectMapper();
  @TempDir Path tmp;

  private JsonNode get(PctlUp up, String path) throws Exception {
    return JSON.readTree(up.request("GET", path, null).body());
  }

  private JsonNode vm(PctlUp up, String name) throws Exception {
    return get(up, "/apis/procurator.dev/v1alpha1/namespaces/default/vms/" + name);
  }

  private void apply(PctlUp up, String name, String extraSpec, String kernel) throws Exception {
    String yaml = Files.readString(Guest.repoRoot().resolve("examples/vm-web.yaml"))
        .replace("name: web", "name: " + name).replace("  cpu: 1", extraSpec + "  cpu: 1").replace("kernel: hello/vmlinux", "kernel: " + kernel);
    Path f = tmp.resolve(name + ".yaml");
    Files.writeString(f, yaml);
    up.run(tmp, "apply", "-f", f.toString());
  }

  private static Path copyOfImages(Path to) throws Exception {
    Path from = Guest.images();
    Files.createDirectories(to.resolve("hello"));
    for (String f : List.of("hello/vmlinux", "hello/initrd.cpio.gz", "hello/VERSION")) {
      Files.copy(from.resolve(f), to.resolve(f));
    }
    return to;
  }

  @Test
  void vmsBootedFromFilesRunWhereTheFilesAreAndMoveAwayFromAHostThatLostThem() throws Exception {
    Path imagesA = copyOfImages(tmp.resolve("images-a"));
    Path imagesB = copyOfImages(tmp.resolve("images-b"));
    Path hostB = tmp.resolve("host-b");
    Process agentB = null;
    try (PctlUp up = PctlUp.system("--node-name", "host-a", "--images-dir", imagesA.toString())) {
      agentB = up.pctl(tmp.resolve("agent-b.out"), "agent", "--name", "host-b", "--data-dir", hostB.toString(),
          "--images-dir", imagesB.toString(), "--lease-duration", "4");
      await().atMost(Duration.ofSeconds(60)).untilAsserted(() -> {
        assertThat(get(up, "/apis/procurator.dev/v1alpha1/nodes/host-b").path("status").path("images").toString()).contains("hello/vmlinux");
        assertThat(up.run(tmp, "get", "nodes")).containsPattern("host-b\\s.*\\bTrue\\b");
      });
      assertThat(get(up, "/apis/procurator.dev/v1alpha1/nodes/host-a").path("status").path("images").toString())
          .contains("hello/vmlinux", imagesA.resolve("hello/vmlinux").toString());

      // Given two VMs booted from the files, spread over both hosts
      apply(up, "one", "", "hello/vmlinux");
      apply(up, "two", "", "hello/vmlinux");
      await().atMost(Duration.ofSeconds(180)).untilAsserted(() -> {
        for (String n : List.of("one", "two")) {
          assertThat(vm(up, n).path("status").path("phase").asText()).as(n).isEqualTo("Running");
        }
      });
      String onB = List.of("one", "two").stream().filter(n -> {
        try {
          return vm(up, n).path("spec").path("nodeName").asText().equals("host-b");
        } catch (Exception e) {
          throw new IllegalStateException(e);
        }
      }).findFirst().orElseThrow(() -> new AssertionError("the scheduler spread nothing to host-b"));

      // When host-b loses the files and the VM there must boot again
      Files.delete(imagesB.resolve("hello/vmlinux"));
      Files.delete(imagesB.resolve("hello/initrd.cpio.gz"));
      long pid = Long.parseLong(Files.readString(hostB.resolve("vms/default/" + onB + "/qemu.pid")).trim());
      ProcessHandle.of(pid).ifPresent(ProcessHandle::destroyForcibly);

      // Then it is moved to host-a, with an Event, and runs there
      await().atMost(Duration.ofSeconds(180)).untilAsserted(() -> {
        JsonNode v = vm(up, onB);
        assertThat(v.path("spec").path("nodeName").asText()).isEqualTo("host-a");
        assertThat(v.path("status").path("phase").asText()).as(v.path("status").path("message").asText()).isEqualTo("Running");
      });
      assertThat(vm(up, onB).path("metadata").path("annotations").path("procurator.dev/unbootable-on").asText()).endsWith(":host-b");
      await().atMost(Duration.ofSeconds(20)).untilAsserted(() -> assertThat(
          get(up, "/api/v1/namespaces/default/events?fieldSelector=involvedObject.name=" + onB).path("items").toString())
          .contains("\"reason\":\"Rescheduled\"", "node host-b cannot boot it (BootSourceMissing"));

      // And once host-b reports no files, a new VM booted from them goes to host-a, and one no host can boot waits
      await().atMost(Duration.ofSeconds(30)).untilAsserted(() ->
          assertThat(get(up, "/apis/procurator.dev/v1alpha1/nodes/host-b").path("status").path("images").toString()).doesNotContain("hello/vmlinux", "hello/initrd"));
      apply(up, "three", "", "hello/vmlinux");
      apply(up, "nowhere", "", "nope/vmlinux");
      await().atMost(Duration.ofSeconds(60)).untilAsserted(() -> {
        assertThat(vm(up, "three").path("spec").path("nodeName").asText()).isEqualTo("host-a");
        JsonNode nowhere = vm(up, "nowhere");
        assertThat(nowhere.path("status").path("phase").asText()).isEqualTo("Pending");
        assertThat(nowhere.path("status").path("message").asText()).isEqualTo("0/2 nodes can run it: 2 no boot file nope/vmlinux");
      });
      assertThat(vm(up, "nowhere").path("spec").path("nodeName").asText("")).isEmpty();
    } finally {
      if (agentB != null && agentB.isAlive()) {
        agentB.destroy();
        if (!agentB.waitFor(20, TimeUnit.SECONDS)) {
          agentB.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
        }
      }
      Guest.killMachines(hostB);
      try (var outs = Files.newDirectoryStream(tmp, "agent-*.out")) {
        for (Path f : outs) {
          System.out.println("---- " + f.getFileName() + "\n" + Files.readString(f));
        }
      }
    }
  }
}
