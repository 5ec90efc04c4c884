package dev.procurator.pctl;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.procurator.nodeagent.testing.Guest;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashSet;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * VMs that boot the example guest by the name {@code pctl up} gave it in its cache: a second host
 * whose store lacks the closure pulls it from the cache and boots it, recording the store path; a
 * name the cache does not know leaves a VM Pending with the reason, never Failed in a loop; a
 * Cluster pins the store path in its revision, and when the name moves to another closure, rolls
 * that out as a new revision.
 */
class ClosureNamesIT {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final Pattern OUT = Pattern.compile("\"out\"\\s*:\\s*\"(/nix/store/[^\"]+)\"");
  @TempDir Path tmp;

  private JsonNode get(PctlUp up, String path) throws Exception {
    return JSON.readTree(up.request("GET", path, null).body());
  }

  private JsonNode vm(PctlUp up, String name) throws Exception {
    return get(up, "/apis/procurator.dev/v1alpha1/namespaces/default/vms/" + name);
  }

  private void applyVm(PctlUp up, String name, String closureName) throws Exception {
    String yaml = Files.readString(Guest.repoRoot().resolve("examples/vm-hello.yaml"))
        .replace("  name: hello\n", "  name: " + name + "\n").replace("closureName: hello", "closureName: " + closureName);
    Path f = tmp.resolve(name + ".yaml");
    Files.writeString(f, yaml);
    up.run(tmp, "apply", "-f", f.toString());
  }

  /** What each ControllerRevision records as the closure its template boots. */
  private static java.util.List<String> revisionClosures(JsonNode list) {
    java.util.List<String> out = new java.util.ArrayList<>();
    list.path("items").forEach(r -> out.add(r.path("data").path("closure").asText()));
    return out;
  }

  private void cordon(PctlUp up, String node, boolean on) throws Exception {
    var r = up.request("PATCH", "/apis/procurator.dev/v1alpha1/nodes/" + node, "application/merge-patch+json",
        "{\"spec\":{\"unschedulable\":" + on + "}}");
    assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
  }

  /** The example guest's closure at {@code version}, built into this host's store with builtins. */
  private String buildGuest(String version) throws Exception {
    Path conf = Files.createDirectories(tmp.resolve("nix-conf"));
    Files.writeString(conf.resolve("nix.conf"), "experimental-features = nix-command\nbuild-users-group =\nsandbox = false\nsubstituters =\n");
    Path images = Guest.images().resolve("hello");
    String expr = "import " + Guest.repoRoot().resolve("examples/gitops/nix/guest.nix") + " { name = \"hello\"; version = \"" + version
        + "\"; healthy = true; kernel = " + images.resolve("vmlinux") + "; initrd = " + images.resolve("initrd.cpio.gz") + "; }";
    PctlIT.Run r = NixCli.run(conf, tmp, Duration.ofMinutes(2), "nix", "build", "--no-link", "--json", "--impure", "--expr", expr);
    assertThat(r.code()).as(r.err()).isZero();
    Matcher m = OUT.matcher(r.out());
    assertThat(m.find()).as(r.out()).isTrue();
    return m.group(1);
  }

  @Test
  @Timeout(value = 12, unit = TimeUnit.MINUTES) // two hosts, five TCG boots, a pull and a rollout
  void aSecondHostPullsTheNamedClosureAndAClusterPinsWhatTheNameStoodFor() throws Exception {
    Path hostB = tmp.resolve("host-b");
    Process agentB = null;
    try (PctlUp up = PctlUp.system("--node-name", "host-a", "--images-dir", Guest.images().toString())) {
      // Given the example guest named hello in the cache, and gone from this machine's store, so
      // that whichever host boots it first must pull it
      // (pctl up names it beside starting its agent, after the API answers)
      await().atMost(Duration.ofMinutes(2)).untilAsserted(() -> assertThat(PctlRun.run(up.kubeconfig(), "closure", "get", "hello").code())
          .isZero());
      String v1 = up.run(tmp, "closure", "get", "hello").strip();
      assertThat(v1).startsWith("/nix/store/").endsWith("-hello-guest-1");
      PctlIT.Run deleted = NixCli.run(Files.createDirectories(tmp.resolve("gc")), tmp, Duration.ofMinutes(1), "nix-store", "--delete", v1);
      assertThat(deleted.code()).as(deleted.err()).isZero();
      assertThat(Path.of(v1)).doesNotExist();

      // When host-b joins with only the cache, and host-a takes no new VMs
      String readToken = Files.readString(up.dataDir.resolve("cache-read-token")).strip();
      agentB = up.pctl(tmp.resolve("agent-b.out"), "agent", "--name", "host-b", "--data-dir", hostB.toString(),
          "--cache-url", "http://nix:" + readToken + "@127.0.0.1:" + up.cachePort,
          "--cache-public-key", up.dataDir.resolve("cache-key.pub").toString());
      await().atMost(Duration.ofSeconds(60)).untilAsserted(() -> {
        assertThat(up.run(tmp, "get", "nodes")).containsPattern("host-b\\s.*\\bTrue\\b");
        assertThat(get(up, "/apis/procurator.dev/v1alpha1/nodes/host-b").path("status").path("binaryCache").asBoolean()).isTrue();
      });
      cordon(up, "host-a", true);
      applyVm(up, "one", "hello");
      applyVm(up, "nowhere", "no-such-closure");

      // Then host-b pulls the closure the name stands for, boots it, and says which it booted
      await().atMost(Duration.ofMinutes(3)).untilAsserted(() -> {
        JsonNode one = vm(up, "one");
        assertThat(one.path("spec").path("nodeName").asText()).isEqualTo("host-b");
        assertThat(one.path("status").path("phase").asText()).as(one.path("status").path("message").asText()).isEqualTo("Running");
        assertThat(one.path("status").path("closure").asText()).isEqualTo(v1);
      });
      assertThat(Path.of(v1)).as("pulled back into the store").isDirectory();
      assertThat(get(up, "/api/v1/namespaces/default/events?fieldSelector=involvedObject.name=one").path("items").toString())
          .contains("\"reason\":\"Pulling\"", "pulling closure " + v1);
      await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> assertThat(
          get(up, "/apis/procurator.dev/v1alpha1/nodes/host-b").path("status").path("images").toString()).contains(v1, "\"hello\""));

      // And a name the cache does not know waits Pending, saying so, and is not moved about
      await().atMost(Duration.ofSeconds(60)).untilAsserted(() -> {
        JsonNode nowhere = vm(up, "nowhere");
        assertThat(nowhere.path("status").path("phase").asText()).isEqualTo("Pending");
        assertThat(nowhere.path("status").path("message").asText()).contains("no closure is named no-such-closure");
        assertThat(nowhere.path("status").path("conditions").toString()).contains("ClosureNameNotFound");
      });
      assertThat(vm(up, "nowhere").path("metadata").path("annotations").path("procurator.dev/unbootable-on").isMissingNode()).isTrue();
      up.run(tmp, "delete", "vm", "nowhere");

      // Given a Cluster of the example, with both hosts open again
      cordon(up, "host-a", false);
      up.run(tmp, "apply", "-f", Guest.repoRoot().resolve("examples/cluster-hello.yaml").toString());
      String revisions = "/apis/apps/v1/namespaces/default/controllerrevisions?labelSelector=procurator.dev/cluster%3Dhello";
      await().atMost(Duration.ofMinutes(4)).untilAsserted(() -> {
        assertThat(up.run(tmp, "get", "cluster", "hello", "-o", "jsonpath={.status.availableReplicas}")).isEqualTo("2");
        assertThat(revisionClosures(get(up, revisions))).containsExactly(v1);
      });

      // When the name moves to version 2 of the guest
      String v2 = buildGuest("2");
      assertThat(v2).isNotEqualTo(v1);
      up.run(tmp, "closure", "name", "hello", v2, "--push");

      // Then the Cluster rolls it out as a new revision, keeping the old one's path for a rollback
      await().atMost(Duration.ofMinutes(5)).untilAsserted(() -> {
        assertThat(revisionClosures(get(up, revisions))).containsExactlyInAnyOrder(v1, v2);
        JsonNode vms = get(up, "/apis/procurator.dev/v1alpha1/namespaces/default/vms?labelSelector=procurator.dev/cluster%3Dhello");
        Set<String> booted = new HashSet<>();
        for (JsonNode v : vms.path("items")) {
          if (v.path("metadata").path("deletionTimestamp").isMissingNode()) {
            booted.add(v.path("spec").path("boot").path("closure").asText() + " " + v.path("status").path("phase").asText());
          }
        }
        assertThat(booted).containsExactly(v2 + " Running");
        assertThat(up.run(tmp, "get", "cluster", "hello", "-o", "jsonpath={.status.availableReplicas}")).isEqualTo("2");
      });
      // and says, where the Cluster's history is read, what the name stood for at each revision
      assertThat(get(up, "/api/v1/namespaces/default/events?fieldSelector=involvedObject.name=hello").path("items").toString())
          .contains("\"reason\":\"ClosureNameResolved\"", "boots closure name hello as " + v1, "boots closure name hello as " + v2);
    } finally {
      // first what must not outlive the test, even when its timeout interrupted it: the agent, then its machines
      if (agentB != null) {
        agentB.destroyForcibly();
      }
      Guest.killMachines(hostB);
      Path out = tmp.resolve("agent-b.out");
      if (Files.exists(out)) {
        System.out.println("---- agent-b.out\n" + Files.readString(out));
      }
    }
  }
}
