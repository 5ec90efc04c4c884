package dev.procurator.pctl;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.procurator.apiserver.ApiServerConfig;
import dev.procurator.apiserver.authz.DefaultRoles;
import dev.procurator.apiserver.testing.TestApiServer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import java.util.Locale;

/**
 * Who may do what, through kubectl with each user's own kubeconfig (written by {@code pctl
 * kubeconfig}) against a real API server: the developer and viewer roles, 403s that name user,
 * verb and resource, {@code kubectl auth can-i}, escalation refused, tokens stored hashed and
 * revoked by deleting them, and users from a token file.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class AccessControlIT {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final String VM = """
      apiVersion: procurator.dev/v1alpha1
      kind: VM
      metadata: {name: %s}
      spec: {cpu: 1, memory: 64Mi, boot: {kernel: hello/vmlinux}}
      """;
  private TestApiServer api;
  private Path tokenFile;
  private Path dave;
  private Path vera;

  @BeforeAll
  void start() throws Exception {
    tokenFile = Files.createTempFile("tokens", ".csv");
    Files.writeString(tokenFile, "# users from a file\nfile-token-1,fiona,2001,\"devs,ops\"\n");
    api = TestApiServer.start(List.of(), c -> c.withAccess(new ApiServerConfig.Access(tokenFile, null, true)));
    kubectl(api.kubeconfig(), "create", "clusterrolebinding", "devs", "--clusterrole=developer", "--group=devs").ok();
    kubectl(api.kubeconfig(), "create", "clusterrolebinding", "vera-views", "--clusterrole=viewer", "--user=vera").ok();
    dave = kubeconfigFor("dave", "devs");
    vera = kubeconfigFor("vera");
  }

  @AfterAll
  void stop() throws Exception {
    api.close();
    Files.deleteIfExists(tokenFile);
  }

  record Out(int exit, String output) {
    Out ok() {
      assertThat(exit).as(output).isZero();
      return this;
    }

    Out forbidden() {
      assertThat(exit).as(output).isNotZero();
      assertThat(output.toLowerCase(java.util.Locale.ROOT)).contains("forbidden");
      return this;
    }
  }

  private Out kubectl(Path kubeconfig, String... args) throws Exception {
    var r = api.kubectlWith(kubeconfig, null, args);
    return new Out(r.exit(), r.output());
  }

  private Out kubectlIn(Path kubeconfig, String stdin, String... args) throws Exception {
    var r = api.kubectlWith(kubeconfig, stdin, args);
    return new Out(r.exit(), r.output());
  }

  /** {@code pctl kubeconfig --user U --group G -o FILE}, run by the admin. */
  private Path kubeconfigFor(String user, String... groups) throws Exception {
    Path file = Files.createTempFile(api.dir(), "kubeconfig-" + user, ".yaml");
    List<String> args = new java.util.ArrayList<>(List.of("kubeconfig", "--user", user, "-o", file.toString()));
    for (String g : groups) {
      args.addAll(List.of("--group", g));
    }
    PctlRun r = PctlRun.run(api.kubeconfig(), args.toArray(String[]::new));
    assertThat(r.code()).as(r.err()).isZero();
    assertThat(Files.getPosixFilePermissions(file)).containsExactlyInAnyOrderElementsOf(
        java.nio.file.attribute.PosixFilePermissions.fromString("rw-------"));
    return file;
  }

  @Test
  void aDeveloperWritesWorkloadsAndSecretsButReadsNoSecretsNodesOrRbac() throws Exception {
    kubectlIn(dave, String.format(Locale.ROOT, VM, "dev-vm"), "apply", "-f", "-").ok();
    assertThat(kubectl(dave, "get", "vms").ok().output()).contains("dev-vm");
    kubectlIn(dave, """
        apiVersion: procurator.dev/v1alpha1
        kind: Secret
        metadata: {name: dev-db}
        spec: {stringData: {password: hunter2}}
        """, "create", "-f", "-").ok();
    Out secret = kubectl(dave, "get", "secrets.procurator.dev", "dev-db").forbidden();
    assertThat(secret.output()).contains("User \"dave\" cannot get resource \"secrets\" in API group \"procurator.dev\" in the namespace \"default\"");
    assertThat(secret.output()).doesNotContain("hunter2");
    kubectl(dave, "get", "nodes.procurator.dev").forbidden();
    kubectl(dave, "get", "clusterrolebindings").forbidden();
    kubectl(dave, "delete", "vm", "dev-vm").ok();
  }

  @Test
  void aViewerReadsButNeitherWritesNorSeesSecrets() throws Exception {
    kubectlIn(api.kubeconfig(), String.format(Locale.ROOT, VM, "seen-vm"), "apply", "-f", "-").ok();
    assertThat(kubectl(vera, "get", "vms").ok().output()).contains("seen-vm");
    kubectl(vera, "get", "nodes.procurator.dev").ok();
    Out create = kubectlIn(vera, String.format(Locale.ROOT, VM, "vera-vm"), "create", "-f", "-").forbidden();
    assertThat(create.output()).contains("User \"vera\" cannot create resource \"vms\" in API group \"procurator.dev\" in the namespace \"default\"");
    kubectl(vera, "delete", "vm", "seen-vm").forbidden();
    kubectl(vera, "get", "secrets.procurator.dev").forbidden();
    assertThat(kubectl(api.kubeconfig(), "get", "vm", "seen-vm").ok().output()).contains("seen-vm");
  }

  @Test
  void kubectlAuthCanIAnswersForEachUser() throws Exception {
    assertThat(kubectl(dave, "auth", "can-i", "create", "vms.procurator.dev").ok().output().lines().toList().getLast()).isEqualTo("yes");
    Out no = kubectl(vera, "auth", "can-i", "create", "vms.procurator.dev");
    assertThat(no.exit()).isEqualTo(1);
    assertThat(no.output()).startsWith("no");
    assertThat(kubectl(vera, "auth", "can-i", "get", "secrets.procurator.dev").output()).startsWith("no");
    assertThat(kubectl(api.kubeconfig(), "auth", "can-i", "delete", "clusterroles").ok().output().lines().toList().getLast()).isEqualTo("yes");
    String list = kubectl(vera, "auth", "can-i", "--list").ok().output();
    assertThat(list).contains("vms.procurator.dev").contains("[get list watch]").doesNotContain("secrets.procurator.dev");
  }

  @Test
  void kubectlAsActsWithTheImpersonatedUsersRightsForThoseAllowedToImpersonate() throws Exception {
    // an admin acting as vera has vera's rights, not the admin's
    assertThat(kubectl(api.kubeconfig(), "get", "vms", "--as", "vera").ok().output()).doesNotContain("forbidden");
    Out asVera = kubectlIn(api.kubeconfig(), String.format(Locale.ROOT, VM, "as-vera"), "create", "-f", "-", "--as", "vera").forbidden();
    assertThat(asVera.output()).contains("User \"vera\" cannot create resource \"vms\"");
    // and gains no group of its own: dave's rights come from the group devs, named or not
    kubectl(api.kubeconfig(), "get", "vms", "--as", "dave").forbidden();
    assertThat(kubectl(api.kubeconfig(), "get", "vms", "--as", "dave", "--as-group", "devs").ok().output()).doesNotContain("forbidden");
    assertThat(kubectl(api.kubeconfig(), "auth", "can-i", "create", "vms.procurator.dev", "--as", "vera").output()).startsWith("no");
    // a developer may not impersonate anyone: not an admin, not the controllers, not a node
    kubectl(dave, "get", "secrets.procurator.dev", "--as", "admin", "--as-group", "system:masters").forbidden();
    Out daveAsAdmin = kubectl(dave, "get", "--raw", "/apis/procurator.dev/v1alpha1/namespaces/default/secrets", "--as", "admin").forbidden();
    assertThat(daveAsAdmin.output()).contains("User \"dave\" cannot impersonate resource \"users\"");
    kubectl(dave, "get", "secrets.procurator.dev", "--as", DefaultRoles.CONTROLLERS).forbidden();
    kubectl(vera, "get", "vms", "--as", "vera", "--as-group", "system:masters").forbidden();
    // the audit log names both
    Path log = api.dir().resolve("store/audit.log");
    await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> assertThat(Files.readAllLines(log).stream()
        .map(AccessControlIT::json).filter(e -> e.path("impersonatedUser").path("username").asText().equals("vera")
            && e.path("verb").asText().equals("create") && e.path("objectRef").path("resource").asText().equals("vms"))
        .toList()).isNotEmpty().allSatisfy(e -> {
          assertThat(e.path("user").path("username").asText()).isEqualTo("admin");
          assertThat(e.path("responseStatus").path("code").asInt()).isEqualTo(403);
        }));
  }

  private static JsonNode json(String line) {
    try {
      return JSON.readTree(line);
    } catch (java.io.IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }

  @Test
  void nobodyGrantsWhatTheyDoNotHold() throws Exception {
    // dave may write bindings and roles, but holds only the developer role
    kubectlIn(api.kubeconfig(), """
        apiVersion: rbac.authorization.k8s.io/v1
        kind: ClusterRole
        metadata: {name: rbac-writer}
        rules:
        - apiGroups: [rbac.authorization.k8s.io]
          resources: [clusterroles, clusterrolebindings, roles, rolebindings]
          verbs: [create, get, list]
        ---
        apiVersion: rbac.authorization.k8s.io/v1
        kind: ClusterRoleBinding
        metadata: {name: dave-writes-rbac}
        roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: rbac-writer}
        subjects: [{kind: User, name: dave}]
        """, "apply", "-f", "-").ok();
    Out bind = kubectl(dave, "create", "clusterrolebinding", "dave-admin", "--clusterrole=admin", "--user=dave").forbidden();
    assertThat(bind.output()).contains("dave").contains("admin");
    Out role = kubectlIn(dave, """
        apiVersion: rbac.authorization.k8s.io/v1
        kind: ClusterRole
        metadata: {name: everything}
        rules: [{apiGroups: ["*"], resources: ["*"], verbs: ["*"]}]
        """, "create", "-f", "-").forbidden();
    assertThat(role.output()).contains("not currently held");
    // what they do hold, they may pass on
    kubectl(dave, "create", "rolebinding", "pat-develops", "--clusterrole=developer", "--user=pat", "-n", "team").ok();
    assertThat(kubectl(api.kubeconfig(), "get", "clusterrolebinding", "dave-admin").exit()).isNotZero();
  }

  @Test
  void issuedTokensAreStoredHashedAndDieWithTheirSecretOrTheirTtl() throws Exception {
    PctlRun r = PctlRun.run(api.kubeconfig(), "token", "create", "--user", "tom", "--group", "devs");
    assertThat(r.code()).as(r.err()).isZero();
    String token = r.out().strip();
    assertThat(token).matches("[a-z0-9]{6}\\.[a-z0-9]{32}");
    String id = token.substring(0, 6);
    String secretPart = token.substring(7);
    assertThat(api.request("GET", "/apis/procurator.dev/v1alpha1/namespaces/default/vms", null, null, token).statusCode()).isEqualTo(200);
    // the server keeps a hash: the Secret holds neither the token nor its secret half
    JsonNode stored = JSON.readTree(api.request("GET", "/apis/procurator.dev/v1alpha1/namespaces/procurator-system/secrets/token-" + id,
        null, null).body());
    String values = new String(java.util.Base64.getDecoder().decode(stored.path("spec").path("data").path("tokenHash").asText()), java.nio.charset.StandardCharsets.UTF_8);
    assertThat(stored.toString()).doesNotContain(secretPart);
    assertThat(values).hasSize(64).doesNotContain(secretPart);
    // a developer may not read or mint tokens
    Path tom = api.kubeconfig("tom", token);
    kubectl(tom, "get", "secrets.procurator.dev", "-n", "procurator-system").forbidden();
    kubectlIn(tom, """
        apiVersion: procurator.dev/v1alpha1
        kind: Secret
        metadata: {name: token-abcdef, namespace: procurator-system}
        spec: {stringData: {tokenHash: "00", user: tom, groups: "system:masters"}}
        """, "create", "-f", "-").forbidden();
    // deleting its Secret revokes it
    kubectl(api.kubeconfig(), "delete", "secrets.procurator.dev", "token-" + id, "-n", "procurator-system").ok();
    await().atMost(Duration.ofSeconds(10)).until(() ->
        api.request("GET", "/apis/procurator.dev/v1alpha1/namespaces/default/vms", null, null, token).statusCode() == 401);

    PctlRun shortLived = PctlRun.run(api.kubeconfig(), "token", "create", "--user", "tess", "--ttl", "3s");
    String t2 = shortLived.out().strip();
    assertThat(api.request("POST", "/apis/authorization.k8s.io/v1/selfsubjectrulesreviews", "application/json",
        "{\"spec\":{\"namespace\":\"default\"}}", t2).statusCode()).isEqualTo(201);
    await().atMost(Duration.ofSeconds(10)).until(() -> api.request("POST", "/apis/authorization.k8s.io/v1/selfsubjectrulesreviews",
        "application/json", "{\"spec\":{\"namespace\":\"default\"}}", t2).statusCode() == 401);
  }

  @Test
  void usersOfATokenFileAreBoundByTheirGroups() throws Exception {
    Path fiona = api.kubeconfig("fiona", "file-token-1");
    kubectlIn(fiona, String.format(Locale.ROOT, VM, "fiona-vm"), "create", "-f", "-").ok();
    kubectl(fiona, "get", "clusterroles").forbidden();
    var denied = api.request("GET", "/apis/rbac.authorization.k8s.io/v1/clusterroles", null, null, "file-token-1");
    JsonNode status = JSON.readTree(denied.body());
    assertThat(denied.statusCode()).isEqualTo(403);
    assertThat(status.path("kind").asText()).isEqualTo("Status");
    assertThat(status.path("reason").asText()).isEqualTo("Forbidden");
    assertThat(status.path("message").asText()).contains("User \"fiona\" cannot list resource \"clusterroles\" in API group "
        + "\"rbac.authorization.k8s.io\" at the cluster scope");
    assertThat(api.request("GET", "/apis/procurator.dev/v1alpha1/namespaces/default/vms", null, null, "not-a-token").statusCode()).isEqualTo(401);
  }

  @Test
  void pctlAuditSaysWhoReadASecretAndTheLogHoldsNoToken() throws Exception {
    kubectlIn(api.kubeconfig(), """
        apiVersion: procurator.dev/v1alpha1
        kind: Secret
        metadata: {name: payroll}
        spec: {stringData: {iban: DE00-payroll-value}}
        """, "create", "-f", "-").ok();
    kubectl(api.kubeconfig(), "get", "secrets.procurator.dev", "payroll", "-o", "json").ok();
    kubectl(dave, "get", "secrets.procurator.dev", "payroll").forbidden();
    Path log = api.dir().resolve("store/audit.log");
    await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> {
      PctlRun who = PctlRun.run(api.kubeconfig(), "audit", "--file", log.toString(), "--secret", "payroll", "--verb", "get");
      assertThat(who.code()).as(who.err()).isZero();
      assertThat(who.out().lines().filter(l -> l.contains(" admin ") && l.contains(" 200 "))).hasSize(1);
      assertThat(who.out().lines().filter(l -> l.contains(" dave ") && l.contains(" 403 ") && l.contains("127.0.0.1"))).hasSize(1);
    });
    String all = Files.readString(log);
    assertThat(all).doesNotContain("DE00-payroll-value").doesNotContain(TestApiServer.TOKEN).doesNotContain("file-token-1");
    String daveToken = Files.readString(dave).lines().filter(l -> l.contains("token:")).findFirst().orElseThrow().split("token:")[1].strip();
    assertThat(all).doesNotContain(daveToken).doesNotContain(daveToken.substring(7));
  }

  @Test
  void theAuditLogRotatesBySizeAndKeepsItsBackups() throws Exception {
    try (TestApiServer small = TestApiServer.start(List.of(), c -> c.withAccess(c.access().withAudit(
        new ApiServerConfig.AuditPolicy(true, 4096, 2, 100, false))))) {
      for (int i = 0; i < 120; i++) {
        small.request("GET", "/apis/procurator.dev/v1alpha1/namespaces/default/vms", null, null);
      }
      Path log = small.dir().resolve("store/audit.log");
      await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> {
        assertThat(log.resolveSibling("audit.log.1")).exists();
        assertThat(log.resolveSibling("audit.log.2")).exists();
      });
      assertThat(log.resolveSibling("audit.log.3")).doesNotExist();
      for (String f : List.of("audit.log", "audit.log.1", "audit.log.2")) {
        Path p = log.resolveSibling(f);
        assertThat(Files.size(p)).isLessThan(4096 + 2048);
        for (String line : Files.readAllLines(p)) {
          assertThat(JSON.readTree(line).path("verb").asText()).isIn("list", "create", "update", "get");
        }
      }
    }
  }

  @Test
  void theDefaultRolesComeBackUnlessPinned() throws Exception {
    String roles = kubectl(api.kubeconfig(), "get", "clusterroles").ok().output();
    assertThat(roles).contains("admin").contains("developer").contains("viewer").contains("system:procurator-controllers");
    Out bad = kubectlIn(api.kubeconfig(), """
        apiVersion: rbac.authorization.k8s.io/v1
        kind: ClusterRoleBinding
        metadata: {name: broken}
        roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: x}
        subjects: [{kind: Robot, name: r2}]
        """, "create", "-f", "-");
    assertThat(bad.exit()).isNotZero();
    assertThat(bad.output()).contains("roleRef.kind").contains("subjects[0].kind");

    // an admin narrows viewer, and narrows developer pinned; a restart puts viewer back and leaves developer
    Path store = Files.createTempDirectory("rbac-restart").resolve("store");
    dev.procurator.apiserver.ApiServerConfig config = dev.procurator.apiserver.ApiServerConfig.embedded("127.0.0.1", 0, store, "admin-token");
    String narrow = "[{\"apiGroups\":[\"\"],\"resources\":[\"namespaces\"],\"verbs\":[\"get\"]}]";
    JsonNode viewerBefore;
    dev.procurator.apiserver.ApiServer first = new dev.procurator.apiserver.ApiServer(config, java.time.Clock.systemUTC()).start();
    try {
      viewerBefore = role(first, "viewer");
      com.fasterxml.jackson.databind.node.ObjectNode viewer = (com.fasterxml.jackson.databind.node.ObjectNode) viewerBefore.deepCopy();
      viewer.set("rules", JSON.readTree(narrow));
      assertThat(send(first, "PUT", "viewer", viewer.toString()).statusCode()).isEqualTo(200);
      com.fasterxml.jackson.databind.node.ObjectNode developer = (com.fasterxml.jackson.databind.node.ObjectNode) role(first, "developer");
      developer.set("rules", JSON.readTree(narrow));
      ((com.fasterxml.jackson.databind.node.ObjectNode) developer.get("metadata")).putObject("annotations")
          .put("rbac.authorization.kubernetes.io/autoupdate", "false");
      assertThat(send(first, "PUT", "developer", developer.toString()).statusCode()).isEqualTo(200);
      assertThat(role(first, "viewer").path("rules")).as("the edit holds while the server runs").isEqualTo(JSON.readTree(narrow));
    } finally {
      first.close();
    }
    dev.procurator.apiserver.ApiServer again = new dev.procurator.apiserver.ApiServer(config, java.time.Clock.systemUTC()).start();
    try {
      assertThat(role(again, "viewer").path("rules")).as("viewer is put back").isEqualTo(viewerBefore.path("rules"));
      JsonNode developer = role(again, "developer");
      assertThat(developer.path("rules")).as("a pinned role keeps its edit").isEqualTo(JSON.readTree(narrow));
      assertThat(developer.at("/metadata/annotations").path("rbac.authorization.kubernetes.io/autoupdate").asText()).isEqualTo("false");
    } finally {
      again.close();
      dev.procurator.apiserver.testing.EtcdProcess.deleteTree(store.getParent());
    }
  }

  private static java.net.http.HttpResponse<String> send(dev.procurator.apiserver.ApiServer server, String method, String role, String body)
      throws Exception {
    var b = java.net.http.HttpRequest.newBuilder(java.net.URI.create("http://127.0.0.1:" + server.port()
            + "/apis/rbac.authorization.k8s.io/v1/clusterroles/" + role))
        .header("Authorization", "Bearer admin-token").header("Content-Type", "application/json")
        .method(method, body == null ? java.net.http.HttpRequest.BodyPublishers.noBody() : java.net.http.HttpRequest.BodyPublishers.ofString(body));
    return java.net.http.HttpClient.newHttpClient().send(b.build(), java.net.http.HttpResponse.BodyHandlers.ofString());
  }

  private static JsonNode role(dev.procurator.apiserver.ApiServer server, String name) throws Exception {
    var r = send(server, "GET", name, null);
    assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
    return JSON.readTree(r.body());
  }
}
