package dev.procurator.pctl;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.procurator.nodeagent.testing.Guest;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * An agent run with a kubeconfig (not joined with a token) serves its logs endpoint over TLS too:
 * it asks for its node's certificate with the kubeconfig's credential, publishes an https://
 * endpoint, and the API server reads a VM's console from it with its own certificate.
 */
class KubeconfigAgentTlsIT {
  private static final ObjectMapper JSON = new ObjectMapper();
  @TempDir Path tmp;

  @Test
  void anAgentRunWithAKubeconfigServesTlsThatTheApiServerReadsLogsFrom() throws Exception {
    Path images = Guest.images();
    Path agentDir = tmp.resolve("agent");
    Path out = tmp.resolve("agent.out");
    Process agent = null;
    try (PctlUp up = PctlUp.start()) {
      List<String> cmd = new ArrayList<>(List.of(PctlUp.java(), "--enable-native-access=ALL-UNNAMED", "-jar", PctlUp.jar().toString(),
          "--kubeconfig", up.kubeconfig().toString(), "agent", "--name", "kubecfg", "--data-dir", agentDir.toString(),
          "--images-dir", images.toString()));
      agent = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.appendTo(out.toFile())).start();

      // the Node carries an https:// endpoint
      await().atMost(Duration.ofSeconds(60)).untilAsserted(() -> assertThat(JSON.readTree(
          up.request("GET", "/apis/procurator.dev/v1alpha1/nodes/kubecfg", null).body()).path("spec").path("agentEndpoint").asText())
          .as(readOrEmpty(out)).startsWith("https://127.0.0.1:"));

      String vm = """
          {"apiVersion":"procurator.dev/v1alpha1","kind":"VM","metadata":{"name":"hello"},
           "spec":{"nodeName":"kubecfg","cpu":1,"memory":"128Mi",
                   "boot":{"kernel":"hello/vmlinux","initrd":"hello/initrd.cpio.gz","cmdline":"console=ttyS0"}}}""";
      assertThat(up.request("POST", "/apis/procurator.dev/v1alpha1/namespaces/default/vms", vm).statusCode()).isEqualTo(201);

      // the console, through the API server, which reaches the agent only over TLS and checks its node certificate
      await().atMost(Duration.ofSeconds(120)).untilAsserted(() -> {
        var log = up.request("GET", "/apis/procurator.dev/v1alpha1/namespaces/default/vms/hello/log", null);
        assertThat(log.statusCode()).as(log.body()).isEqualTo(200);
        assertThat(log.body()).contains("PROCURATOR-READY");
      });
    } finally {
      if (agent != null) {
        agent.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
      }
      Guest.killMachines(agentDir);
    }
  }

  private static String readOrEmpty(Path p) {
    try {
      return Files.exists(p) ? Files.readString(p) : "";
    } catch (IOException e) {
      return "";
    }
  }
}
