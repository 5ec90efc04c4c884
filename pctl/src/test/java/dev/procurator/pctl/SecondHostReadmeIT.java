package dev.procurator.pctl;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.procurator.nodeagent.testing.Guest;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The README's "A second host", run as written against {@code pctl up} with a node agent: a second
 * agent joins with a join token and the cache's read token, four copies of the example VM boot the
 * closure named {@code hello} and run on both hosts, each recording the one store path the name
 * stood for. Only the server's data directory, ports and the second host's folder differ from the
 * README's.
 */
class SecondHostReadmeIT {
  static final List<List<String>> SECTION = List.of(List.of("### A second host", "### Three hosts as NixOS configuration"));
  private static final ObjectMapper JSON = new ObjectMapper();
  @TempDir Path tmp;

  @Test
  @Timeout(value = 12, unit = TimeUnit.MINUTES)
  void theExamplesRunOnBothHostsFromTheNamedClosure() throws Exception {
    List<ReadmeTourIT.Step> steps = ReadmeTourIT.steps(Files.readString(Guest.repoRoot().resolve("README.md")), SECTION);
    assertThat(steps).as("the section's commands").hasSizeGreaterThan(8)
        .anySatisfy(s -> assertThat(s.line()).startsWith("bin/pctl agent --join-token-file"));
    Path hostB = tmp.resolve("host-b");
    Path outputs = Files.createDirectories(tmp.resolve("steps"));
    List<Process> following = new ArrayList<>();
    try (PctlUp up = PctlUp.systemOffLoopback("--images-dir", Guest.images().toString())) {
      Map<String, String> here = Map.of("/tmp/p/", up.dataDir + "/", "127.0.0.1:7443", "127.0.0.1:" + up.port,
          "127.0.0.1:7444", "127.0.0.1:" + up.cachePort, "/tmp/host-b", hostB.toString());
      // everything but the last step, which deletes the VMs this test looks at first
      ReadmeTourIT.run(up, outputs, steps.subList(0, steps.size() - 1), here, List.of(),
          List.of(Map.entry(Pattern.compile("bin/pctl agent --join"), Pattern.compile("Node agent host-b is up"))), following);

      String path = up.run(tmp, "closure", "get", "hello").strip();
      assertThat(path).startsWith("/nix/store/").endsWith("-hello-guest-1");
      JsonNode vms = JSON.readTree(up.request("GET", "/apis/procurator.dev/v1alpha1/namespaces/default/vms", null).body());
      Set<String> nodes = new HashSet<>();
      for (JsonNode vm : vms.path("items")) {
        assertThat(vm.path("status").path("closure").asText()).as(vm.path("metadata").path("name").asText()).isEqualTo(path);
        nodes.add(vm.path("spec").path("nodeName").asText());
      }
      assertThat(vms.path("items").size()).isEqualTo(4);
      assertThat(nodes).as("the four VMs run on both hosts").hasSize(2).contains("host-b");
      String wide = up.run(tmp, "get", "vms", "-o", "wide");
      assertThat(wide).contains("host-b", up.nodeName, path);
      assertThat(JSON.readTree(up.request("GET", "/apis/procurator.dev/v1alpha1/nodes/host-b", null).body())
          .path("status").path("images").toString()).as("host-b holds the closure, by path and by name").contains(path, "\"hello\"");

      ReadmeTourIT.run(up, outputs, steps.subList(steps.size() - 1, steps.size()), here, List.of(), List.of(), following);
    } finally {
      // the second agent and its machines first, even when the test's timeout interrupted it
      following.forEach(p -> {
        p.descendants().forEach(ProcessHandle::destroyForcibly);
        p.destroyForcibly();
      });
      Guest.killMachines(hostB);
      ReadmeTourIT.stop(following, outputs);
    }
  }
}
