package dev.procurator.apiserver.encryption;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.procurator.api.v1alpha1.Secret;
import dev.procurator.api.v1alpha1.SecretSpec;
import dev.procurator.apiserver.ApiServer;
import dev.procurator.apiserver.ApiServerConfig;
import dev.procurator.apiserver.testing.EtcdProcess;
import dev.procurator.apiserver.testing.TestApiServer;
import dev.procurator.apiserver.testing.TestNames;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Secrets at rest, in the embedded store and in etcd: the bytes on disk hold no value of a Secret
 * (in plain text or base64), while the API serves them; and a server whose key file is gone
 * refuses to start rather than serve ciphertext.
 */
class SecretsAtRestIT {
  @TempDir Path tmp;

  private static String value() {
    return "pw-" + TestNames.random(16) + "-do-not-store-me";
  }

  private static void create(KubernetesClient client, String name, String plain) {
    Secret s = new Secret();
    s.setMetadata(new ObjectMetaBuilder().withName(name).withNamespace("default").build());
    s.setSpec(new SecretSpec(null, Map.of("password", plain)));
    client.resource(s).create();
  }

  /** Every file under {@code root} whose bytes contain {@code needle}. */
  private static List<Path> holding(Path root, String needle) throws IOException {
    byte[] n = needle.getBytes(StandardCharsets.UTF_8);
    List<Path> out = new ArrayList<>();
    try (Stream<Path> files = Files.walk(root)) {
      for (Path f : files.filter(Files::isRegularFile).toList()) {
        byte[] b = Files.readAllBytes(f);
        if (indexOf(b, n) >= 0) {
          out.add(f);
        }
      }
    }
    return out;
  }

  private static int indexOf(byte[] hay, byte[] needle) {
    outer:
    for (int i = 0; i + needle.length <= hay.length; i++) {
      for (int j = 0; j < needle.length; j++) {
        if (hay[i + j] != needle[j]) {
          continue outer;
        }
      }
      return i;
    }
    return -1;
  }

  private static String decoded(KubernetesClient client, String name) {
    return new String(client.resources(Secret.class).inNamespace("default").withName(name).get().getSpec().decoded().get("password"),
        StandardCharsets.UTF_8);
  }

  @Test
  void theEmbeddedStoreHoldsNoValueOfASecret() throws Exception {
    try (TestApiServer api = TestApiServer.embedded()) {
      KubernetesClient client = api.client();
      String plain = value();
      create(client, "db", plain);
      assertThat(decoded(client, "db")).isEqualTo(plain);
      // a control: what is not a Secret is found, so the search would find the value if it were there
      String marker = TestNames.unique("marker");
      HttpResponse<String> created = api.request("POST", "/api/v1/namespaces", "application/json",
          "{\"apiVersion\":\"v1\",\"kind\":\"Namespace\",\"metadata\":{\"name\":\"" + marker + "\"}}");
      assertThat(created.statusCode()).as(created.body()).isEqualTo(201);
      Path store = api.dir().resolve("store");
      assertThat(holding(store, marker)).isNotEmpty();
      assertThat(holding(store, plain)).isEmpty();
      assertThat(holding(store, Base64.getEncoder().encodeToString(plain.getBytes(StandardCharsets.UTF_8)))).isEmpty();
    }
  }

  @Test
  void everyReadOfASecretLeavesAnAuditLineWithNoSecretBytes() throws Exception {
    try (TestApiServer api = TestApiServer.embedded()) {
      KubernetesClient client = api.client();
      String plain = value();
      create(client, "audited", plain);
      assertThat(decoded(client, "audited")).isEqualTo(plain);
      client.resources(Secret.class).inNamespace("default").list();
      client.resources(dev.procurator.api.v1alpha1.VM.class).inNamespace("default").list(); // a read of another kind: not audited
      Path log = api.dir().resolve("store").resolve("audit.log");
      assertThat(java.nio.file.Files.getPosixFilePermissions(log)).isEqualTo(java.nio.file.attribute.PosixFilePermissions.fromString("rw-------"));
      org.awaitility.Awaitility.await().atMost(java.time.Duration.ofSeconds(10)).untilAsserted(() -> {
        List<com.fasterxml.jackson.databind.JsonNode> lines = new ArrayList<>();
        for (String l : Files.readAllLines(log)) {
          lines.add(new com.fasterxml.jackson.databind.ObjectMapper().readTree(l));
        }
        assertThat(lines).anySatisfy(e -> {
          assertThat(e.path("verb").asText()).isEqualTo("get");
          assertThat(e.path("objectRef").path("resource").asText()).isEqualTo("secrets");
          assertThat(e.path("objectRef").path("name").asText()).isEqualTo("audited");
          assertThat(e.path("user").path("username").asText()).isEqualTo("admin");
          assertThat(e.path("responseStatus").path("code").asInt()).isEqualTo(200);
        });
        assertThat(lines).anySatisfy(e -> assertThat(e.path("verb").asText() + " " + e.path("objectRef").path("resource").asText()).isEqualTo("list secrets"));
        assertThat(lines).anySatisfy(e -> assertThat(e.path("verb").asText() + " " + e.path("objectRef").path("name").asText()).isEqualTo("create "));
        assertThat(lines).noneSatisfy(e -> assertThat(e.path("objectRef").path("resource").asText()).isEqualTo("vms"));
      });
      String all = Files.readString(log);
      assertThat(all).doesNotContain(plain).doesNotContain(Base64.getEncoder().encodeToString(plain.getBytes(StandardCharsets.UTF_8)))
          .doesNotContain(TestApiServer.TOKEN);
    }
  }

  @Test
  void etcdHoldsNoValueOfASecret() throws Exception {
    try (EtcdProcess etcd = EtcdProcess.start(1); TestApiServer api = TestApiServer.start(etcd.endpoints(), c -> c)) {
      KubernetesClient client = api.client();
      String plain = value();
      create(client, "db", plain);
      assertThat(decoded(client, "db")).isEqualTo(plain);
      // an update too: the old and the new value
      String next = value();
      client.resources(Secret.class).inNamespace("default").withName("db")
          .edit(s -> {
            s.setSpec(new SecretSpec(null, Map.of("password", next)));
            return s;
          });
      assertThat(decoded(client, "db")).isEqualTo(next);
      Path data = etcd.members().getFirst().dataDir();
      for (String v : List.of(plain, next)) {
        assertThat(holding(data, v)).isEmpty();
        assertThat(holding(data, Base64.getEncoder().encodeToString(v.getBytes(StandardCharsets.UTF_8)))).isEmpty();
      }
      // and what the storage underneath has is sealed
      var raw = ((EncryptingStorage) api.server().storage()).raw().get(SecretsAtRest.PREFIX + "default/db").orElseThrow();
      assertThat(Envelope.sealed(raw.value())).isTrue();
    }
  }

  @Test
  void aServerWhoseKeyFileIsGoneRefusesToStartAndStartsAgainWhenItIsBack() throws Exception {
    Path store = tmp.resolve("store");
    ApiServerConfig config = ApiServerConfig.embedded("127.0.0.1", 0, store, "admin-token");
    String plain = value();
    ApiServer first = new ApiServer(config, Clock.systemUTC()).start();
    try {
      HttpResponse<String> r = HttpClient.newHttpClient().send(HttpRequest.newBuilder(
              URI.create("http://127.0.0.1:" + first.port() + "/apis/procurator.dev/v1alpha1/namespaces/default/secrets"))
          .header("Authorization", "Bearer admin-token").header("Content-Type", "application/json")
          .POST(HttpRequest.BodyPublishers.ofString("{\"apiVersion\":\"procurator.dev/v1alpha1\",\"kind\":\"Secret\",\"metadata\":{\"name\":\"db\"},"
              + "\"spec\":{\"stringData\":{\"password\":\"" + plain + "\"}}}")).build(), HttpResponse.BodyHandlers.ofString());
      assertThat(r.statusCode()).as(r.body()).isEqualTo(201);
    } finally {
      first.close();
    }
    Path key = config.encryptionKeyFile();
    Path aside = tmp.resolve("key-aside");
    Files.move(key, aside);
    assertThatThrownBy(() -> new ApiServer(config, Clock.systemUTC()).start())
        .hasMessageContaining("encryption key file").hasMessageContaining("is missing").hasMessageContaining("1 stored Secrets are sealed");
    assertThat(key).doesNotExist(); // no new key was made in its place
    Files.move(aside, key);
    ApiServer again = new ApiServer(config, Clock.systemUTC()).start();
    try {
      HttpResponse<String> r = HttpClient.newHttpClient().send(HttpRequest.newBuilder(
              URI.create("http://127.0.0.1:" + again.port() + "/apis/procurator.dev/v1alpha1/namespaces/default/secrets/db"))
          .header("Authorization", "Bearer admin-token").build(), HttpResponse.BodyHandlers.ofString());
      assertThat(r.statusCode()).isEqualTo(200);
      assertThat(r.body()).contains(Base64.getEncoder().encodeToString(plain.getBytes(StandardCharsets.UTF_8)));
    } finally {
      again.close();
    }
  }
}
