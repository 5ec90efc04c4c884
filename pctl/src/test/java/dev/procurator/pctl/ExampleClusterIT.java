package dev.procurator.pctl;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.procurator.nodeagent.testing.Guest;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * examples/cluster-shop.yaml as a user meets it: applied as it is to {@code pctl up}, its three
 * templates (one per kind of health check: http, tcp, exec) boot the example guest by the name
 * {@code pctl up} gave it, every VM's checks pass, and the Cluster becomes Available.
 */
class ExampleClusterIT {
  private static final ObjectMapper JSON = new ObjectMapper();
  @TempDir Path tmp;

  private static String condition(JsonNode object, String type) {
    for (JsonNode c : object.path("status").path("conditions")) {
      if (c.path("type").asText().equals(type)) {
        return c.path("status").asText();
      }
    }
    return "";
  }

  @Test
  @Timeout(value = 8, unit = TimeUnit.MINUTES) // pctl up, the example guest's closure, three TCG boots
  void theShopExampleBootsAndBecomesAvailableOnPctlUp() throws Exception {
    try (PctlUp up = PctlUp.system("--node-name", "host-a", "--images-dir", Guest.images().toString())) {
      await().atMost(Duration.ofMinutes(2)).untilAsserted(() -> assertThat(PctlRun.run(up.kubeconfig(), "closure", "get", "hello").code())
          .isZero());
      up.run(tmp, "apply", "-f", Guest.repoRoot().resolve("examples/cluster-shop.yaml").toString());
      await().atMost(Duration.ofMinutes(5)).untilAsserted(() -> {
        JsonNode shop = JSON.readTree(up.run(tmp, "get", "cluster", "shop", "-o", "json"));
        assertThat(shop.path("status").path("availableReplicas").asInt()).as(shop.path("status").toString()).isEqualTo(3);
        assertThat(condition(shop, "Available")).isEqualTo("True");
      });
      // each VM is Healthy by its own kind of check
      JsonNode vms = JSON.readTree(up.run(tmp, "get", "vms", "-l", "procurator.dev/cluster=shop", "-o", "json"));
      List<String> healthy = new ArrayList<>();
      vms.path("items").forEach(v -> healthy.add(v.path("metadata").path("labels").path("procurator.dev/template").asText() + " "
          + v.path("spec").path("healthChecks").path(0).path("type").asText() + " " + condition(v, "Healthy")));
      assertThat(healthy).containsExactlyInAnyOrder("db tcp True", "frontend http True", "worker exec True");
      up.run(tmp, "delete", "-f", Guest.repoRoot().resolve("examples/cluster-shop.yaml").toString());
    }
  }
}
