package dev.procurator.controllers;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.procurator.api.v1alpha1.VM;
import dev.procurator.api.v1alpha1.VMSpec;
import dev.procurator.apiserver.testing.TestApiServer;
import dev.procurator.apiserver.testing.TestNames;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.time.Clock;
import java.time.Duration;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * The loops' metrics reach a Micrometer registry under controller-runtime's and client-go's
 * names: a VM created moves the scheduler's reconcile count and queue adds, and the replica's
 * leadership shows in {@code leader_election_master_status}.
 */
class ControllerMetricsIT {
  /** The sum of every sample of {@code name} whose labels include {@code labels} (as written: {@code controller="scheduler"}). */
  private static double sum(String scrape, String name, String... labels) {
    double total = 0;
    Matcher m = Pattern.compile("(?m)^" + Pattern.quote(name) + "\\{([^}]*)\\} (\\S+)$").matcher(scrape);
    while (m.find()) {
      boolean all = true;
      for (String l : labels) {
        all &= ("," + m.group(1) + ",").contains("," + l + ",");
      }
      if (all) {
        total += Double.parseDouble(m.group(2));
      }
    }
    return total;
  }

  @Test
  void reconcilesQueueAddsAndLeadershipAreExported() throws Exception {
    PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    try (TestApiServer api = TestApiServer.embedded()) {
      KubernetesClient c = api.client();
      ControllerManager manager = new ControllerManager(c, ControllerManager.Config.defaults(TestNames.unique("metrics"))
          .withLeaderTimings(Duration.ofSeconds(4), Duration.ofSeconds(3), Duration.ofMillis(300)), Clock.systemUTC())
          .withMetrics(registry);
      try {
        manager.start();
        await().atMost(Duration.ofSeconds(30)).until(manager::leading);
        assertThat(sum(registry.scrape(), "leader_election_master_status", "name=\"procurator-controllers\"")).isEqualTo(1);
        double before = sum(registry.scrape(), "controller_runtime_reconcile_total", "controller=\"scheduler\"");
        VM v = new VM();
        v.setMetadata(new ObjectMetaBuilder().withName(TestNames.unique("vm")).withNamespace("default").build());
        v.setSpec(new VMSpec(1, "256Mi", null, new VMSpec.Boot(null, "hello/vmlinux", null, null), null, null, null, null, null, null, null));
        c.resources(VM.class).inNamespace("default").resource(v).create();
        await().atMost(Duration.ofSeconds(30)).untilAsserted(() ->
            assertThat(sum(registry.scrape(), "controller_runtime_reconcile_total", "controller=\"scheduler\"")).isGreaterThan(before));
        String scrape = registry.scrape();
        assertThat(sum(scrape, "controller_runtime_reconcile_time_seconds_count", "controller=\"scheduler\"")).isPositive();
        assertThat(sum(scrape, "workqueue_adds_total", "name=\"scheduler\"")).isPositive();
        assertThat(scrape).contains("workqueue_depth{name=\"scheduler\"}");
      } finally {
        manager.close();
      }
      assertThat(sum(registry.scrape(), "leader_election_master_status", "name=\"procurator-controllers\"")).isZero();
    } finally {
      registry.close();
    }
  }
}
