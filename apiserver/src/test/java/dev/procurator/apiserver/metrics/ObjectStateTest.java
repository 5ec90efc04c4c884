package dev.procurator.apiserver.metrics;

import static org.assertj.core.api.Assertions.assertThat;

import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The gauges the alert rules are written on, from objects as the store holds them. */
class ObjectStateTest {
  @TempDir Path tmp;

  private static byte[] json(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  @Test
  void theObjectsStatusesBecomeGauges() throws Exception {
    Map<String, List<byte[]>> objects = new HashMap<>();
    objects.put("nodes", List.of(
        json("{\"metadata\":{\"name\":\"a\"},\"status\":{\"conditions\":[{\"type\":\"Ready\",\"status\":\"True\"}]}}"),
        json("{\"metadata\":{\"name\":\"b\"},\"status\":{\"conditions\":[{\"type\":\"Ready\",\"status\":\"Unknown\"}]}}")));
    objects.put("vms", List.of(
        json("{\"metadata\":{\"name\":\"web\",\"namespace\":\"shop\"},\"status\":{\"phase\":\"Running\",\"restartCount\":4,"
            + "\"conditions\":[{\"type\":\"Healthy\",\"status\":\"False\"}]}}"),
        json("{\"metadata\":{\"name\":\"new\",\"namespace\":\"shop\"}}")));
    objects.put("clusters", List.of(
        json("{\"metadata\":{\"name\":\"web\",\"namespace\":\"shop\"},\"status\":{\"conditions\":[{\"type\":\"Progressing\",\"status\":\"False\","
            + "\"reason\":\"RolledBack\"}]}}"),
        json("{\"metadata\":{\"name\":\"db\",\"namespace\":\"shop\"},\"status\":{\"conditions\":[{\"type\":\"Progressing\",\"status\":\"True\","
            + "\"reason\":\"RolloutComplete\"}]}}"),
        // failed, but with autoRollback off: not rolled back
        json("{\"metadata\":{\"name\":\"api\",\"namespace\":\"shop\"},\"status\":{\"conditions\":[{\"type\":\"Progressing\",\"status\":\"False\","
            + "\"reason\":\"RevisionFailed\"}]}}")));
    objects.put("builds", List.of(json("{\"metadata\":{\"name\":\"app\",\"namespace\":\"shop\"},\"status\":{\"phase\":\"Failed\"}}")));
    objects.put("gitrepositories", List.of(json("{\"metadata\":{\"name\":\"site\",\"namespace\":\"shop\"},\"status\":{\"conditions\":["
        + "{\"type\":\"Ready\",\"status\":\"False\"}]}}")));
    Path cert = tmp.resolve("ca.crt");
    dev.procurator.apiserver.auth.Pki pki = dev.procurator.apiserver.auth.Pki.ensure(tmp.resolve("pki"), List.of("127.0.0.1"));
    Files.copy(pki.caCert(), cert);
    PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    Instant[] now = {Instant.parse("2026-01-01T00:00:00Z")};
    Clock clock = new Clock() {
      @Override
      public java.time.ZoneId getZone() {
        return ZoneOffset.UTC;
      }

      @Override
      public Clock withZone(java.time.ZoneId zone) {
        return this;
      }

      @Override
      public Instant instant() {
        return now[0];
      }
    };
    ObjectState state = new ObjectState(registry, (group, resource) -> objects.getOrDefault(resource, List.of()), Map.of("ca", cert), clock);
    state.refresh();
    String text = registry.scrape();
    assertThat(text).contains("procurator_node_ready{node=\"a\"} 1.0", "procurator_node_ready{node=\"b\"} 0.0",
        "procurator_vm_status_phase{namespace=\"shop\",phase=\"Running\",vm=\"web\"} 1.0",
        "procurator_vm_status_restarts{namespace=\"shop\",vm=\"web\"} 4.0", "procurator_vm_status_restarts{namespace=\"shop\",vm=\"new\"} 0.0",
        "procurator_vm_healthy{namespace=\"shop\",vm=\"web\"} 0.0",
        "procurator_cluster_rolled_back{cluster=\"web\",namespace=\"shop\"} 1.0", "procurator_cluster_rolled_back{cluster=\"db\",namespace=\"shop\"} 0.0",
        "procurator_cluster_rolled_back{cluster=\"api\",namespace=\"shop\"} 0.0",
        "procurator_build_status_phase{build=\"app\",namespace=\"shop\",phase=\"Failed\"} 1.0",
        "procurator_gitrepository_ready{gitrepository=\"site\",namespace=\"shop\"} 0.0",
        "procurator_certificate_expiry_timestamp_seconds{certificate=\"ca\"}");
    // a VM with no health check has no health series, and one with no phase yet no phase series
    assertThat(text).doesNotContain("procurator_vm_healthy{namespace=\"shop\",vm=\"new\"}")
        .doesNotContain("procurator_vm_status_phase{namespace=\"shop\",phase=\"\",vm=\"new\"}");

    // objects that go take their series with them
    objects.put("nodes", List.of());
    state.refresh(); // within the interval: the same values
    assertThat(registry.scrape()).contains("procurator_node_ready{node=\"a\"}");
    now[0] = now[0].plus(ObjectState.MIN_INTERVAL);
    state.refresh();
    assertThat(registry.scrape()).doesNotContain("procurator_node_ready{");
  }
}
