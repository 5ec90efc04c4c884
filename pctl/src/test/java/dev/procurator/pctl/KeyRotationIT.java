package dev.procurator.pctl;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Base64;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

/**
 * Rotating the key Secrets are sealed under, against {@code pctl up}: {@code pctl secrets
 * rotate-key} makes a new key current and rewraps every Secret, which stay readable; the old key
 * can then be retired, the current one never; a rewrap cut short by kill -9 finishes when the
 * server starts again.
 */
class KeyRotationIT {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final String SECRETS = "/apis/procurator.dev/v1alpha1/namespaces/default/secrets";

  private static void create(PctlUp up, int from, int to) throws Exception {
    IntStream.range(from, to).parallel().forEach(i -> {
      try {
        var r = up.request("POST", SECRETS, "{\"apiVersion\":\"procurator.dev/v1alpha1\",\"kind\":\"Secret\",\"metadata\":{\"name\":\"s" + i
            + "\"},\"spec\":{\"stringData\":{\"password\":\"value-" + i + "\"}}}");
        assertThat(r.statusCode()).as(r.body()).isEqualTo(201);
      } catch (Exception e) {
        throw new IllegalStateException(e);
      }
    });
  }

  private static JsonNode status(PctlUp up) throws Exception {
    var r = up.request("GET", "/encryption/status", null);
    assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
    return JSON.readTree(r.body());
  }

  private static void allReadable(PctlUp up, int count) throws Exception {
    JsonNode list = JSON.readTree(up.request("GET", SECRETS, null).body());
    assertThat(list.path("items")).hasSize(count);
    for (JsonNode s : list.path("items")) {
      String name = s.path("metadata").path("name").asText();
      String value = new String(Base64.getDecoder().decode(s.path("spec").path("data").path("password").asText()), StandardCharsets.UTF_8);
      assertThat(s.path("spec").has("stringData")).isFalse();
      assertThat(value).isEqualTo("value-" + name.substring(1));
    }
  }

  @Test
  void aRotatedKeySealsEverySecretAndTheOldOneCanThenBeRetired() throws Exception {
    try (PctlUp up = PctlUp.start()) {
      create(up, 0, 40);
      String old = status(up).path("currentKey").asText();
      PctlRun rotate = PctlRun.run(up.kubeconfig(), "secrets", "rotate-key", "--wait");
      assertThat(rotate.code()).as(rotate.err()).isZero();
      JsonNode s = status(up);
      String current = s.path("currentKey").asText();
      assertThat(current).isNotEqualTo(old);
      assertThat(rotate.out()).contains("key " + current + " is current", "40 (" + current + ": 40, 0 not sealed)");
      assertThat(s.path("keys").toString()).contains(old, current);
      allReadable(up, 40);
      PctlRun refused = PctlRun.run(up.kubeconfig(), "secrets", "retire-key", current);
      assertThat(refused.code()).isNotZero();
      assertThat(refused.err()).contains("is the current key");
      PctlRun retire = PctlRun.run(up.kubeconfig(), "secrets", "retire-key", old);
      assertThat(retire.code()).as(retire.err()).isZero();
      assertThat(status(up).path("keys").toString()).doesNotContain(old);
      allReadable(up, 40);
    }
  }

  @Test
  void aRewrapCutShortByKill9UnderWriteLoadFinishesWhenTheServerStartsAgainAndLosesNoWrite() throws Exception {
    try (PctlUp up = PctlUp.start()) {
      int count = 400;
      create(up, 0, count);
      // a writer keeps updating Secrets through the rotation, the kill and the restart
      java.util.Map<Integer, Integer> acked = new java.util.concurrent.ConcurrentHashMap<>();
      java.util.Map<Integer, Integer> tried = new java.util.concurrent.ConcurrentHashMap<>();
      java.util.concurrent.atomic.AtomicBoolean stop = new java.util.concurrent.atomic.AtomicBoolean();
      Thread writer = Thread.ofVirtual().start(() -> {
        for (int n = 1; !stop.get(); n++) {
          int i = n % 50;
          tried.put(i, n);
          try {
            var w = up.request("PATCH", SECRETS + "/s" + i, "application/merge-patch+json",
                "{\"spec\":{\"stringData\":{\"password\":\"value-" + i + "\",\"version\":\"" + n + "\"}}}");
            if (w.statusCode() == 200) {
              acked.put(i, n);
            }
          } catch (Exception down) {
            java.util.concurrent.locks.LockSupport.parkNanos(50_000_000); // the server is down: try again
          }
        }
      });
      await().atMost(Duration.ofSeconds(30)).until(() -> acked.size() >= 10);
      var r = up.request("POST", "/encryption/rotate", "");
      assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
      String current = JSON.readTree(r.body()).path("currentKey").asText();
      up.kill9();
      up.launch();
      await().atMost(Duration.ofSeconds(60)).untilAsserted(() -> {
        JsonNode s = status(up);
        assertThat(s.path("currentKey").asText()).isEqualTo(current);
        assertThat(s.path("sealedUnder").path(current).asInt()).isEqualTo(count);
        assertThat(s.path("rewrapping").asBoolean()).isFalse();
      });
      int before = acked.size() + acked.values().stream().mapToInt(Integer::intValue).sum();
      await().atMost(Duration.ofSeconds(30)).until(() -> acked.size() + acked.values().stream().mapToInt(Integer::intValue).sum() > before);
      stop.set(true);
      writer.join();
      allReadable(up, count);
      // every acknowledged write is there (or the one after it, sent and applied as the server died)
      JsonNode list = JSON.readTree(up.request("GET", SECRETS, null).body());
      for (JsonNode s : list.path("items")) {
        int i = Integer.parseInt(s.path("metadata").path("name").asText().substring(1));
        if (acked.containsKey(i)) {
          int version = Integer.parseInt(new String(Base64.getDecoder().decode(s.path("spec").path("data").path("version").asText()),
              StandardCharsets.UTF_8));
          assertThat(version).as("s" + i).isBetween(acked.get(i), tried.get(i));
        }
      }
    }
  }

  @Test
  void onlyClusterAdminsManageKeys() throws Exception {
    try (PctlUp up = PctlUp.start()) {
      var anonymous = java.net.http.HttpClient.newBuilder().sslContext(insecure()).build().send(
          java.net.http.HttpRequest.newBuilder(java.net.URI.create(up.url() + "/encryption/rotate")).POST(java.net.http.HttpRequest.BodyPublishers.noBody())
              .build(), java.net.http.HttpResponse.BodyHandlers.ofString());
      assertThat(anonymous.statusCode()).isEqualTo(401);

      // an authenticated user outside system:masters: refused, and nothing rotates
      PctlRun issued = PctlRun.run(up.kubeconfig(), "token", "create", "--user", "dana", "--group", "devs");
      assertThat(issued.code()).as(issued.err()).isZero();
      String dana = issued.out().trim();
      var http = java.net.http.HttpClient.newBuilder().sslContext(insecure()).build();
      java.util.function.BiFunction<String, String, Integer> post = (path, token) -> {
        try {
          var b = java.net.http.HttpRequest.newBuilder(java.net.URI.create(up.url() + path)).header("Authorization", "Bearer " + token);
          b = path.endsWith("status") ? b.GET() : b.POST(java.net.http.HttpRequest.BodyPublishers.noBody());
          return http.send(b.build(), java.net.http.HttpResponse.BodyHandlers.ofString()).statusCode();
        } catch (Exception e) {
          throw new IllegalStateException(e);
        }
      };
      String before = up.request("GET", "/encryption/status", null).body();
      assertThat(post.apply("/encryption/rotate", dana)).isEqualTo(403);
      assertThat(post.apply("/encryption/status", dana)).isEqualTo(403);
      assertThat(post.apply("/encryption/retire?key=k", dana)).isEqualTo(403);
      assertThat(up.request("GET", "/encryption/status", null).body()).as("no key was added").isEqualTo(before);
      // and an admin may
      assertThat(post.apply("/encryption/rotate", up.token())).isEqualTo(200);
      assertThat(up.request("GET", "/encryption/status", null).body()).isNotEqualTo(before);
    }
  }

  private static javax.net.ssl.SSLContext insecure() throws Exception {
    javax.net.ssl.SSLContext ctx = javax.net.ssl.SSLContext.getInstance("TLS");
    ctx.init(null, new javax.net.ssl.TrustManager[] {new javax.net.ssl.X509TrustManager() {
      public void checkClientTrusted(java.security.cert.X509Certificate[] c, String a) {}

      public void checkServerTrusted(java.security.cert.X509Certificate[] c, String a) {}

      public java.security.cert.X509Certificate[] getAcceptedIssuers() {
        return new java.security.cert.X509Certificate[0];
      }
    }}, null);
    return ctx;
  }
}
