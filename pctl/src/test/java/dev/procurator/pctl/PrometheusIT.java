package dev.procurator.pctl;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.sun.net.httpserver.HttpServer;
import dev.procurator.apiserver.testing.EtcdProcess;
import dev.procurator.nodeagent.testing.Guest;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;

/**
 * The Prometheus pctl up runs, against real Prometheus and Alertmanager (Debian's): it finds the
 * API server and this host's agent through the API server's {@code /sd/prometheus}, and the cache
 * beside them, and scrapes all three with its own read-only credentials; a VM in a crash loop fires
 * VMCrashLooping, which reaches a webhook through Alertmanager; and a second pctl up on the same data
 * directory keeps what the first one scraped.
 */
class PrometheusIT {
  static final ObjectMapper JSON = new ObjectMapper();
  private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

  private JsonNode query(int port, String promql) throws Exception {
    HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/api/v1/query?query="
        + URLEncoder.encode(promql, StandardCharsets.UTF_8))).timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.ofString());
    assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
    return JSON.readTree(r.body()).path("data").path("result");
  }

  @Test
  void prometheusScrapesTheClusterWithItsOwnIdentityAndACrashLoopReachesTheWebhook() throws Exception {
    List<String> received = new CopyOnWriteArrayList<>();
    HttpServer hook = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
    hook.createContext("/hook", ex -> {
      received.add(new String(ex.getRequestBody().readAllBytes(), StandardCharsets.UTF_8));
      ex.sendResponseHeaders(200, -1);
      ex.close();
    });
    hook.start();
    int prometheus = EtcdProcess.freePort();
    int alertmanager = EtcdProcess.freePort();
    try (PctlUp up = PctlUp.system("--images-dir", Guest.images().toString(), "--prometheus-listen", "127.0.0.1:" + prometheus,
        "--metrics-interval", "2s", "--alertmanager", "http://127.0.0.1:" + hook.getAddress().getPort() + "/hook",
        "--alertmanager-listen", "127.0.0.1:" + alertmanager, "--alert-group-wait", "1s")) {
      // Prometheus reads as its own user, who may read metrics and nothing else
      String token = Files.readString(up.dataDir.resolve("prometheus-token")).trim();
      Path config = up.dataDir.resolve("prometheus").resolve("prometheus.yml");
      // pctl up starts Prometheus once the API server is up and Prometheus' user is bound
      await().atMost(Duration.ofSeconds(60)).until(() -> Files.exists(up.dataDir.resolve("prometheus").resolve("prometheus.pid")));
      assertThat(Files.readString(config)).contains(up.dataDir.resolve("prometheus-token").toString()).doesNotContain("admin-token");
      HttpResponse<String> vms = up.http().send(HttpRequest.newBuilder(URI.create(up.url() + "/apis/procurator.dev/v1alpha1/vms"))
          .header("Authorization", "Bearer " + token).build(), HttpResponse.BodyHandlers.ofString());
      assertThat(vms.statusCode()).isEqualTo(403);
      assertThat(Files.readString(up.dataDir.resolve("prometheus").resolve("prometheus.pid")).trim()).matches("[0-9]+");

      // a kernel that finds no init panics at once, and QEMU (-no-reboot) exits: a crash every boot
      String vm = """
          {"apiVersion":"procurator.dev/v1alpha1","kind":"VM","metadata":{"name":"panics"},
           "spec":{"nodeName":"NODE","cpu":1,"memory":"128Mi","restartPolicy":"Always",
                   "boot":{"kernel":"hello/vmlinux","initrd":"hello/initrd.cpio.gz","cmdline":"console=ttyS0 rdinit=/none panic=-1"}}}"""
          .replace("NODE", up.nodeName);
      assertThat(up.request("POST", "/apis/procurator.dev/v1alpha1/namespaces/default/vms", vm).statusCode()).isEqualTo(201);

      // Prometheus finds the API server and the agent through /sd/prometheus, and the cache, and scrapes each
      await().atMost(Duration.ofSeconds(120)).ignoreExceptionsInstanceOf(java.net.ConnectException.class).untilAsserted(() -> {
        for (String job : List.of("procurator-apiserver", "procurator-agent", "procurator-cache")) {
          assertThat(query(prometheus, "up{job=\"" + job + "\"} == 1")).as(job + "; targets: " + targets(prometheus)).hasSize(1);
        }
      });
      assertThat(query(prometheus, "apiserver_request_total")).isNotEmpty();
      assertThat(query(prometheus, "procurator_node_ready{node=\"" + up.nodeName + "\"} == 1")).hasSize(1);
      assertThat(query(prometheus, "procurator_agent_console_followers{job=\"procurator-agent\",node=\"" + up.nodeName + "\"}")).hasSize(1);
      assertThat(query(prometheus, "cache_max_bytes{job=\"procurator-cache\"}")).hasSize(1);

      // the crash loop fires VMCrashLooping, and Alertmanager sends it to the webhook
      await().atMost(Duration.ofSeconds(240)).untilAsserted(() -> assertThat(received).as("alerts received; VM restarts: %s",
          query(prometheus, "procurator_vm_status_restarts")).anyMatch(b -> b.contains("\"alertname\":\"VMCrashLooping\"")
              && b.contains("\"vm\":\"panics\"") && b.contains("\"status\":\"firing\"")));

      // a second pctl up on the same data directory starts Prometheus on the same data: what was scraped before is there
      long before = query(prometheus, "count_over_time(up{job=\"procurator-apiserver\"}[1h])").get(0).path("value").get(1).asLong();
      up.stop();
      up.launch();
      await().atMost(Duration.ofSeconds(60)).ignoreExceptionsInstanceOf(java.net.ConnectException.class).untilAsserted(() ->
          assertThat(query(prometheus, "count_over_time(up{job=\"procurator-apiserver\"}[1h])").get(0).path("value").get(1).asLong())
              .isGreaterThan(before));
    } finally {
      hook.stop(0);
    }
  }

  private String targets(int port) throws Exception {
    return http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/api/v1/targets")).build(),
        HttpResponse.BodyHandlers.ofString()).body();
  }
}
