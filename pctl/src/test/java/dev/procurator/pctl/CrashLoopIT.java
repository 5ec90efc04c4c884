package dev.procurator.pctl;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.procurator.nodeagent.testing.Guest;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A VM in a crash loop keeps its backoff across a kill -9 of its node agent: the new agent reads
 * the loop's state from the VM's status and waits out the backoff the old one set, instead of
 * booting the VM again at once; and the count of failures in a row goes on from where it was.
 */
class CrashLoopIT {
  static final ObjectMapper JSON = new ObjectMapper();
  @TempDir Path tmp;

  private static Process agent(PctlUp up, Path dataDir, Path images, Path out) throws IOException {
    List<String> cmd = new ArrayList<>(List.of(PctlUp.java(), "--enable-native-access=ALL-UNNAMED", "-jar", PctlUp.jar().toString(),
        "--kubeconfig", up.kubeconfig().toString(), "agent", "--name", "crashy", "--data-dir", dataDir.toString(),
        "--images-dir", images.toString()));
    return new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.appendTo(out.toFile())).start();
  }

  private static JsonNode status(PctlUp up) throws Exception {
    return JSON.readTree(up.request("GET", "/apis/procurator.dev/v1alpha1/namespaces/default/vms/panics", null).body()).path("status");
  }

  @Test
  void aKill9OfTheAgentDuringACrashLoopKeepsTheBackoff() throws Exception {
    Path images = Guest.images();
    Path agentDir = tmp.resolve("agent");
    Path out = tmp.resolve("agent.out");
    Process first = null;
    Process second = null;
    try (PctlUp up = PctlUp.start()) {
      first = agent(up, agentDir, images, out);
      // a kernel that finds no init panics at once, and QEMU (-no-reboot) exits: a crash every boot
      String vm = """
          {"apiVersion":"procurator.dev/v1alpha1","kind":"VM","metadata":{"name":"panics"},
           "spec":{"nodeName":"crashy","cpu":1,"memory":"128Mi","restartPolicy":"Always",
                   "boot":{"kernel":"hello/vmlinux","initrd":"hello/initrd.cpio.gz","cmdline":"console=ttyS0 rdinit=/none panic=-1"}}}""";
      assertThat(up.request("POST", "/apis/procurator.dev/v1alpha1/namespaces/default/vms", vm).statusCode()).isEqualTo(201);

      // Given the VM has failed four times in a row and waits 8 s or more before its next start; a wait
      // seen with less than 6 s left (a slow machine) is let pass for the next, twice as long
      JsonNode[] seen = new JsonNode[1];
      await().atMost(Duration.ofSeconds(180)).until(() -> {
        JsonNode s = status(up);
        seen[0] = s;
        return s.path("backoff").path("failures").asInt() >= 4 && s.path("phase").asText().equals("Failed")
            && !s.path("backoff").path("restartAt").asText().isEmpty()
            && Instant.parse(s.path("backoff").path("restartAt").asText()).isAfter(Instant.now().plusSeconds(6));
      });
      JsonNode looping = seen[0];
      int failures = looping.path("backoff").path("failures").asInt();
      int restarts = looping.path("restartCount").asInt();
      Instant restartAt = Instant.parse(looping.path("backoff").path("restartAt").asText());
      assertThat(looping.path("message").asText()).contains("the hypervisor exited without the guest powering off", "restarting in");

      // When the agent is killed with -9 and a new one starts at once
      first.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
      second = agent(up, agentDir, images, out);

      // Then the new agent does not start the VM before the backoff the old one set has passed
      Duration left = Duration.between(Instant.now(), restartAt).minusMillis(500);
      assertThat(left).as("time left in the backoff when the new agent started").isPositive();
      await().during(left).atMost(left.plusSeconds(5)).until(() -> status(up).path("restartCount").asInt() == restarts);
      // and afterwards it does, and the count of failures in a row goes on
      await().atMost(Duration.ofSeconds(90)).until(() -> status(up).path("restartCount").asInt() > restarts
          && status(up).path("backoff").path("failures").asInt() > failures);
      assertThat(Files.readString(out)).contains("Node agent crashy is up");
    } finally {
      for (Process p : new Process[] {first, second}) {
        if (p != null) {
          p.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
        }
      }
      Guest.killMachines(agentDir);
    }
  }
}
