package dev.procurator.apiserver.rest;

import static org.assertj.core.api.Assertions.assertThat;

import dev.procurator.apiserver.testing.TestNames;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.procurator.api.v1alpha1.VM;
import dev.procurator.apiserver.testing.TestApiServer;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.net.http.HttpResponse;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import java.util.Locale;

/** Server-side apply as kubectl and controllers use it: field managers, conflicts per field, force, and dry runs. */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ServerSideApplyIT {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final String APPLY = "application/apply-patch+yaml";
  private TestApiServer api;
  private KubernetesClient client;
  private String ns;

  @BeforeAll
  void startServer() throws Exception {
    api = TestApiServer.embedded();
    client = api.client();
  }

  @AfterAll
  void stopServer() {
    api.close();
  }

  @BeforeEach
  void freshNamespace() {
    ns = TestNames.unique("ssa");
  }

  private String vm(String name, int cpu, String labels) {
    return String.format(Locale.ROOT, """
        apiVersion: procurator.dev/v1alpha1
        kind: VM
        metadata:
          name: %s
          namespace: %s
          labels: {%s}
        spec:
          cpu: %d
          memory: 128Mi
          boot:
            kernel: hello/vmlinux
        """, name, ns, labels, cpu);
  }

  private String path(String name) {
    return "/apis/procurator.dev/v1alpha1/namespaces/" + ns + "/vms/" + name;
  }

  private TestApiServer.Kubectl kubectl(String stdin, String... args) throws Exception {
    return api.kubectl(stdin, args);
  }

  private VM get(String name) {
    return client.resources(VM.class).inNamespace(ns).withName(name).get();
  }

  @Test
  void kubectlApplyServerSideCreatesThenUpdatesAndRecordsItsManager() throws Exception {
    var created = kubectl(vm("web", 1, "app: web"), "apply", "--server-side", "-f", "-");
    assertThat(created.exit()).as(created.output()).isZero();
    assertThat(created.output()).contains("vm.procurator.dev/web serverside-applied");

    var updated = kubectl(vm("web", 2, "app: web"), "apply", "--server-side", "-f", "-");
    assertThat(updated.exit()).as(updated.output()).isZero();
    assertThat(get("web").getSpec().cpu()).isEqualTo(2);

    var yaml = kubectl(null, "get", "vm", "web", "-n", ns, "-o", "json", "--show-managed-fields");
    JsonNode managed = JSON.readTree(yaml.output()).path("metadata").path("managedFields");
    assertThat(managed).hasSize(1);
    assertThat(managed.get(0).path("manager").asText()).isEqualTo("kubectl");
    assertThat(managed.get(0).path("operation").asText()).isEqualTo("Apply");
    assertThat(managed.get(0).path("fieldsV1").path("f:spec").has("f:cpu")).isTrue();
  }

  @Test
  void aFieldSomeoneElseChangedIsAConflictNamingTheFieldUntilForced() throws Exception {
    assertThat(kubectl(vm("db", 1, "app: db"), "apply", "--server-side", "-f", "-").exit()).isZero();
    var patched = kubectl(null, "patch", "vm", "db", "-n", ns, "--type", "merge", "-p", "{\"spec\":{\"cpu\":3}}");
    assertThat(patched.exit()).as(patched.output()).isZero();

    var refused = kubectl(vm("db", 1, "app: db"), "apply", "--server-side", "-f", "-");
    assertThat(refused.exit()).isNotZero();
    assertThat(refused.output()).contains("conflict with \"kubectl-patch\"").contains(".spec.cpu");
    assertThat(get("db").getSpec().cpu()).isEqualTo(3);

    var forced = kubectl(vm("db", 1, "app: db"), "apply", "--server-side", "--force-conflicts", "-f", "-");
    assertThat(forced.exit()).as(forced.output()).isZero();
    assertThat(get("db").getSpec().cpu()).isEqualTo(1);
  }

  @Test
  void conflictsComeBackOnePerFieldInTheStatus() throws Exception {
    assertThat(api.request("PATCH", path("multi") + "?fieldManager=git", APPLY, vm("multi", 1, "app: x")).statusCode()).isEqualTo(201);
    HttpResponse<String> edit = api.request("PATCH", path("multi") + "?fieldManager=editor", "application/merge-patch+json",
        "{\"metadata\":{\"labels\":{\"app\":\"y\"}},\"spec\":{\"cpu\":2}}");
    assertThat(edit.statusCode()).as(edit.body()).isEqualTo(200);

    HttpResponse<String> again = api.request("PATCH", path("multi") + "?fieldManager=git", APPLY, vm("multi", 1, "app: x"));
    assertThat(again.statusCode()).isEqualTo(409);
    JsonNode status = JSON.readTree(again.body());
    assertThat(status.path("reason").asText()).isEqualTo("Conflict");
    assertThat(status.path("details").path("causes").findValuesAsText("field")).containsExactlyInAnyOrder(".spec.cpu", ".metadata.labels.app");
    assertThat(status.path("details").path("causes").findValuesAsText("type")).containsOnly("FieldManagerConflict");
  }

  @Test
  void aFieldTheApplierStopsSettingIsRemoved() throws Exception {
    assertThat(kubectl(vm("lab", 1, "app: lab, tier: front"), "apply", "--server-side", "-f", "-").exit()).isZero();
    assertThat(kubectl(vm("lab", 1, "app: lab"), "apply", "--server-side", "-f", "-").exit()).isZero();
    assertThat(get("lab").getMetadata().getLabels()).containsOnlyKeys("app");
  }

  @Test
  void aServerDryRunWritesNothingAndAnApplyThatChangesNothingKeepsTheVersion() throws Exception {
    var dry = kubectl(vm("dry", 1, "app: dry"), "apply", "--server-side", "--dry-run=server", "-f", "-");
    assertThat(dry.exit()).as(dry.output()).isZero();
    assertThat(get("dry")).isNull();

    assertThat(kubectl(vm("dry", 1, "app: dry"), "apply", "--server-side", "-f", "-").exit()).isZero();
    String version = get("dry").getMetadata().getResourceVersion();
    assertThat(kubectl(vm("dry", 1, "app: dry"), "apply", "--server-side", "-f", "-").exit()).isZero();
    assertThat(get("dry").getMetadata().getResourceVersion()).isEqualTo(version);
  }

  @Test
  void badApplyBodiesAreRefusedClearly() throws Exception {
    HttpResponse<String> noManager = api.request("PATCH", path("bad"), APPLY, vm("bad", 1, "app: bad"));
    assertThat(noManager.statusCode()).isEqualTo(400);
    assertThat(noManager.body()).contains("fieldManager is required");

    HttpResponse<String> syntax = api.request("PATCH", path("bad") + "?fieldManager=t", APPLY, "spec:\n  cpu: [1\n");
    assertThat(syntax.statusCode()).isEqualTo(400);
    assertThat(syntax.body()).contains("line");

    HttpResponse<String> invalid = api.request("PATCH", path("bad") + "?fieldManager=t", APPLY, vm("bad", 1, "app: bad").replace("cpu: 1", "cpu: -4"));
    assertThat(invalid.statusCode()).isEqualTo(422);
    assertThat(invalid.body()).contains("spec.cpu");
    assertThat(get("bad")).isNull();
  }
}
