package dev.procurator.apiserver.rest;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.procurator.apiserver.auth.UserInfo;
import dev.procurator.apiserver.testing.TestApiServer;
import dev.procurator.apiserver.testing.TestNames;
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * {@code /metrics} and {@code /sd/prometheus} of a real server: requests move kube-apiserver's
 * counters under the verb, resource and code they had, an open watch is counted while it lasts,
 * storage is timed and counted, and only a caller bound to {@code system:monitoring} (or an admin)
 * may read either path.
 */
class MetricsIT {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final String PROMETHEUS = "prometheus-token";
  private static final String NOBODY = "nobody-token";
  private static TestApiServer api;

  @BeforeAll
  static void start() throws Exception {
    api = TestApiServer.start(List.of(), c -> c.withToken(PROMETHEUS, new UserInfo("prometheus", List.of()))
        .withToken(NOBODY, new UserInfo("nobody", List.of())));
    String binding = """
        {"apiVersion":"rbac.authorization.k8s.io/v1","kind":"ClusterRoleBinding","metadata":{"name":"prometheus"},
         "roleRef":{"apiGroup":"rbac.authorization.k8s.io","kind":"ClusterRole","name":"system:monitoring"},
         "subjects":[{"apiGroup":"rbac.authorization.k8s.io","kind":"User","name":"prometheus"}]}""";
    assertThat(api.request("POST", "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings", "application/json", binding).statusCode())
        .isEqualTo(201);
    await().atMost(Duration.ofSeconds(20)).until(() -> api.request("GET", "/metrics", null, null, PROMETHEUS).statusCode() == 200);
  }

  @AfterAll
  static void stop() {
    if (api != null) {
      api.close();
    }
  }

  @Test
  void anonymousCallersAreUnauthorizedAndOthersWithoutTheRoleForbidden() throws Exception {
    for (String path : List.of("/metrics", "/sd/prometheus")) {
      assertThat(api.request("GET", path, null, null, null).statusCode()).as(path).isEqualTo(401);
      HttpResponse<String> r = api.request("GET", path, null, null, NOBODY);
      assertThat(r.statusCode()).as(path).isEqualTo(403);
      JsonNode status = JSON.readTree(r.body());
      assertThat(status.path("kind").asText()).isEqualTo("Status");
      assertThat(status.path("reason").asText()).isEqualTo("Forbidden");
      assertThat(status.path("message").asText()).contains("User \"nobody\" cannot get path \"" + path + "\"");
    }
    // the role grants the two paths and nothing else
    assertThat(api.request("GET", "/apis/procurator.dev/v1alpha1/namespaces/default/vms", null, null, PROMETHEUS).statusCode())
        .isEqualTo(403);
  }

  @Test
  void requestsAreCountedAndTimedByVerbResourceScopeAndCode() throws Exception {
    String missing = TestNames.unique("missing");
    assertThat(api.request("GET", "/apis/procurator.dev/v1alpha1/namespaces/default/vms/" + missing, null, null).statusCode()).isEqualTo(404);
    String ns = TestNames.unique("metrics");
    assertThat(api.request("POST", "/api/v1/namespaces", "application/json", "{\"metadata\":{\"name\":\"" + ns + "\"}}").statusCode())
        .isEqualTo(201);
    assertThat(api.request("GET", "/api/v1/namespaces", null, null).statusCode()).isEqualTo(200);
    assertThat(api.request("GET", "/apis/procurator.dev/v1alpha1/namespaces/default/vms", null, null, NOBODY).statusCode()).isEqualTo(403);

    Metrics m = scrape();
    assertThat(m.sum("apiserver_request_total", Map.of("verb", "get", "group", "procurator.dev", "version", "v1alpha1",
        "resource", "vms", "scope", "resource", "code", "404"))).isEqualTo(1);
    assertThat(m.sum("apiserver_request_total", Map.of("verb", "create", "group", "", "version", "v1", "resource", "namespaces",
        "scope", "cluster", "code", "201"))).isGreaterThanOrEqualTo(1);
    assertThat(m.sum("apiserver_request_total", Map.of("verb", "list", "resource", "namespaces", "scope", "cluster", "code", "200")))
        .isGreaterThanOrEqualTo(1);
    assertThat(m.sum("apiserver_request_total", Map.of("verb", "list", "resource", "vms", "scope", "namespace", "code", "403")))
        .isGreaterThanOrEqualTo(1);
    assertThat(m.sum("apiserver_request_duration_seconds_count", Map.of("verb", "create", "resource", "namespaces")))
        .isGreaterThanOrEqualTo(1);
    assertThat(m.sum("apiserver_request_duration_seconds_bucket", Map.of("verb", "create", "resource", "namespaces", "le", "+Inf")))
        .isGreaterThanOrEqualTo(1);
    assertThat(m.has("apiserver_request_duration_seconds_bucket", Map.of("verb", "create", "resource", "namespaces", "le", "0.005")))
        .as("kube-apiserver's finest bucket").isTrue();
    // the scrapes themselves are requests too: a non-resource GET
    assertThat(m.sum("apiserver_request_total", Map.of("verb", "GET", "resource", "", "code", "200"))).isGreaterThanOrEqualTo(1);
    // storage, timed under the same names as etcd's, and counted
    assertThat(m.sum("etcd_request_duration_seconds_count", Map.of("operation", "create", "type", "namespaces"))).isGreaterThanOrEqualTo(1);
    assertThat(m.sum("etcd_request_duration_seconds_count", Map.of("operation", "get", "type", "vms.procurator.dev"))).isGreaterThanOrEqualTo(1);
    await().atMost(Duration.ofSeconds(20)).untilAsserted(() -> assertThat(scrape().sum("apiserver_storage_objects",
        Map.of("resource", "clusterroles.rbac.authorization.k8s.io"))).isGreaterThanOrEqualTo(5));
    assertThat(m.has("apiserver_audit_error_total", Map.of("plugin", "buffered"))).isTrue();
  }

  @Test
  void anOpenWatchIsCountedUntilItEnds() throws Exception {
    Map<String, String> watches = Map.of("verb", "WATCH", "group", "procurator.dev", "resource", "vms", "scope", "namespace");
    assertThat(scrape().sum("apiserver_longrunning_requests", watches)).isZero();
    HttpRequest watch = HttpRequest.newBuilder(URI.create(api.url() + "/apis/procurator.dev/v1alpha1/namespaces/default/vms?watch=true&timeoutSeconds=4"))
        .header("Authorization", "Bearer " + TestApiServer.TOKEN).build();
    CompletableFuture<HttpResponse<InputStream>> open = api.http().sendAsync(watch, HttpResponse.BodyHandlers.ofInputStream());
    try {
      await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> assertThat(scrape().sum("apiserver_longrunning_requests", watches)).isEqualTo(1));
      // the server ends it at its timeout
      await().atMost(Duration.ofSeconds(20)).untilAsserted(() -> assertThat(scrape().sum("apiserver_longrunning_requests", watches)).isZero());
      open.get().body().readAllBytes();
    } finally {
      open.cancel(true);
    }
    assertThat(scrape().sum("apiserver_request_total", Map.of("verb", "WATCH", "resource", "vms", "code", "200"))).isGreaterThanOrEqualTo(1);
  }

  @Test
  void discoveryListsTheServerAndReadyNodesAgents() throws Exception {
    String ready = TestNames.unique("ready");
    String notReady = TestNames.unique("notready");
    node(ready, "https://127.0.0.1:10250", "True");
    node(notReady, "https://127.0.0.1:10251", "False");
    HttpResponse<String> r = api.request("GET", "/sd/prometheus", null, null, PROMETHEUS);
    assertThat(r.statusCode()).isEqualTo(200);
    assertThat(r.headers().firstValue("Content-Type")).hasValue("application/json");
    JsonNode groups = JSON.readTree(r.body());
    Map<String, JsonNode> byTarget = new HashMap<>();
    groups.forEach(g -> g.path("targets").forEach(t -> byTarget.put(t.asText(), g.path("labels"))));
    String self = URI.create(api.url()).getAuthority();
    assertThat(byTarget).containsKey(self);
    assertThat(byTarget.get(self).path("job").asText()).isEqualTo("procurator-apiserver");
    assertThat(byTarget.get(self).path("__scheme__").asText()).isEqualTo("https");
    assertThat(byTarget).containsKey("127.0.0.1:10250");
    assertThat(byTarget.get("127.0.0.1:10250").path("job").asText()).isEqualTo("procurator-agent");
    assertThat(byTarget.get("127.0.0.1:10250").path("node").asText()).isEqualTo(ready);
    assertThat(byTarget.get("127.0.0.1:10250").path("__metrics_path__").asText()).isEqualTo("/metrics");
    assertThat(byTarget).doesNotContainKey("127.0.0.1:10251");
  }

  private static void node(String name, String endpoint, String ready) throws Exception {
    String body = "{\"apiVersion\":\"procurator.dev/v1alpha1\",\"kind\":\"Node\",\"metadata\":{\"name\":\"" + name + "\"},"
        + "\"spec\":{\"agentEndpoint\":\"" + endpoint + "\"}}";
    HttpResponse<String> created = api.request("POST", "/apis/procurator.dev/v1alpha1/nodes", "application/json", body);
    assertThat(created.statusCode()).as(created.body()).isEqualTo(201);
    String status = "{\"status\":{\"conditions\":[{\"type\":\"Ready\",\"status\":\"" + ready + "\",\"reason\":\"Test\",\"message\":\"set by the test\","
        + "\"lastTransitionTime\":\"2026-01-01T00:00:00Z\"}]}}";
    HttpResponse<String> patched = api.request("PATCH", "/apis/procurator.dev/v1alpha1/nodes/" + name + "/status",
        "application/merge-patch+json", status);
    assertThat(patched.statusCode()).as(patched.body()).isEqualTo(200);
  }

  private static Metrics scrape() throws Exception {
    HttpResponse<String> r = api.request("GET", "/metrics", null, null, PROMETHEUS);
    assertThat(r.statusCode()).isEqualTo(200);
    assertThat(r.headers().firstValue("Content-Type").orElse("")).startsWith("text/plain");
    return Metrics.parse(r.body());
  }

  /** Samples of Prometheus' text format: name, labels, value (no Prometheus parser is on the classpath). */
  record Metrics(List<Sample> samples) {
    record Sample(String name, Map<String, String> labels, double value) {}

    static Metrics parse(String text) {
      List<Sample> out = new ArrayList<>();
      for (String line : text.split("\n")) {
        if (line.isBlank() || line.startsWith("#")) {
          continue;
        }
        int brace = line.indexOf('{');
        int space = line.lastIndexOf(' ');
        String name = brace >= 0 ? line.substring(0, brace) : line.substring(0, space);
        Map<String, String> labels = new HashMap<>();
        if (brace >= 0) {
          String body = line.substring(brace + 1, line.lastIndexOf('}'));
          int i = 0;
          while (i < body.length()) {
            int eq = body.indexOf('=', i);
            String key = body.substring(i, eq).trim();
            StringBuilder v = new StringBuilder();
            int j = eq + 2;
            for (; body.charAt(j) != '"'; j++) {
              if (body.charAt(j) == '\\') {
                j++;
              }
              v.append(body.charAt(j));
            }
            labels.put(key, v.toString());
            i = j + 1;
            if (i < body.length() && body.charAt(i) == ',') {
              i++;
            }
          }
        }
        out.add(new Sample(name, labels, Double.parseDouble(line.substring(space + 1))));
      }
      return new Metrics(out);
    }

    List<Sample> matching(String name, Map<String, String> labels) {
      return samples.stream().filter(s -> s.name().equals(name) && s.labels().entrySet().containsAll(labels.entrySet())).toList();
    }

    boolean has(String name, Map<String, String> labels) {
      return !matching(name, labels).isEmpty();
    }

    double sum(String name, Map<String, String> labels) {
      return matching(name, labels).stream().mapToDouble(Sample::value).sum();
    }
  }
}
