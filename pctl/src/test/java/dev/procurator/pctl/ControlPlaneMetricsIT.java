package dev.procurator.pctl;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.procurator.apiserver.testing.EtcdProcess;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The control plane's metrics as users run it: under {@code pctl up} the controllers' metrics are
 * scraped with the API server's at its {@code /metrics}; {@code pctl controllers --metrics-listen}
 * serves a replica's own; {@code pctl up --no-metrics} serves none.
 */
class ControlPlaneMetricsIT {
  @TempDir Path tmp;

  @Test
  void oneScrapeOfPctlUpShowsTheApiServerAndTheControllersAndAStandbyReplicaServesItsOwn() throws Exception {
    try (PctlUp up = PctlUp.withControllers()) {
      // an unbound VM: the scheduler looks at it, with no node to bind it to
      String vm = """
          {"apiVersion":"procurator.dev/v1alpha1","kind":"VM","metadata":{"name":"waits"},
           "spec":{"cpu":1,"memory":"128Mi","boot":{"kernel":"hello/vmlinux"}}}""";
      assertThat(up.request("POST", "/apis/procurator.dev/v1alpha1/namespaces/default/vms", vm).statusCode()).isEqualTo(201);
      await().atMost(Duration.ofSeconds(60)).untilAsserted(() -> {
        HttpResponse<String> r = up.request("GET", "/metrics", null);
        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(r.body()).contains("apiserver_request_total{").contains("leader_election_master_status{name=\"procurator-controllers\"} 1.0")
            .contains("controller_runtime_reconcile_total{controller=\"scheduler\"");
      });
      int port = EtcdProcess.freePort();
      Path out = tmp.resolve("controllers.out");
      Process replica = up.pctl(out, "controllers", "--id", "standby", "--metrics-listen", "127.0.0.1:" + port);
      try {
        HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
        // it listens once it has started: until then the connection is refused
        await().atMost(Duration.ofSeconds(60)).ignoreExceptionsInstanceOf(java.net.ConnectException.class).untilAsserted(() -> {
          assertThat(replica.isAlive()).as(Files.readString(out)).isTrue();
          HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/metrics")).build(),
              HttpResponse.BodyHandlers.ofString());
          assertThat(r.statusCode()).isEqualTo(200);
          // the other replica leads: this one waits
          assertThat(r.body()).contains("leader_election_master_status{name=\"procurator-controllers\"} 0.0");
        });
        assertThat(Files.readString(out)).contains("metrics: http://127.0.0.1:" + port + "/metrics");
      } finally {
        replica.destroy();
        if (!replica.waitFor(30, TimeUnit.SECONDS)) {
          replica.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
        }
      }
    }
  }

  @Test
  void noMetricsServesNone() throws Exception {
    try (PctlUp up = PctlUp.start(List.of("--no-metrics").toArray(String[]::new))) {
      assertThat(up.request("GET", "/metrics", null).statusCode()).isEqualTo(404);
      assertThat(up.request("GET", "/sd/prometheus", null).statusCode()).isEqualTo(404);
    }
  }
}
