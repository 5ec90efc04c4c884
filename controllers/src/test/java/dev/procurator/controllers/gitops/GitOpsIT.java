package dev.procurator.controllers.gitops;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.procurator.apiserver.testing.TestNames;
import dev.procurator.api.runtime.Conditions;
import dev.procurator.api.v1alpha1.GitRepository;
import dev.procurator.api.v1alpha1.Identities;
import io.fabric8.kubernetes.api.model.rbac.RoleBindingBuilder;
import dev.procurator.api.v1alpha1.GitRepositorySpec;
import dev.procurator.api.v1alpha1.GitRepositoryStatus;
import dev.procurator.api.v1alpha1.Secret;
import dev.procurator.api.v1alpha1.SecretSpec;
import dev.procurator.api.v1alpha1.VM;
import dev.procurator.apiserver.testing.TestApiServer;
import dev.procurator.controllers.ControllerManager;
import io.fabric8.kubernetes.api.model.Condition;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;
import java.util.Locale;

/**
 * The GitOps controller against real git repositories (bare, over file:// and over smart HTTP from
 * {@code git http-backend}) and the API server: commits applied, bad commits refused whole, drift
 * corrected or reported, the webhook, and private remotes.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class GitOpsIT {
  private TestApiServer api;
  private KubernetesClient client;
  private ControllerManager controllers;
  private String ns;
  private Remote remote;
  @TempDir
  Path dir;

  @BeforeAll
  void start() throws Exception {
    api = TestApiServer.embedded();
    client = api.client();
    Path cache = Files.createTempDirectory("gitops-it-cache");
    controllers = new ControllerManager(client, ControllerManager.Config.defaults("gitops-it")
        .withLeaderTimings(Duration.ofSeconds(4), Duration.ofSeconds(3), Duration.ofMillis(300)).withGitCacheDir(cache)
        .withPrivateGitUrls(true), Clock.systemUTC())
        .start();
    await().atMost(Duration.ofSeconds(20)).until(controllers::leading);
  }

  @AfterAll
  void stop() {
    controllers.close();
    api.close();
  }

  @BeforeEach
  void fresh() throws Exception {
    ns = TestNames.unique("git");
    remote = new Remote(dir, "fleet");
    grant(client, ns, "admin");
  }

  /** Binds {@code clusterRole} in {@code ns} to the identities of that namespace's GitRepositories, as an admin would. */
  static void grant(KubernetesClient client, String ns, String clusterRole) {
    client.rbac().roleBindings().inNamespace(ns).resource(new RoleBindingBuilder()
        .withNewMetadata().withName("gitops-" + clusterRole).withNamespace(ns).endMetadata()
        .withNewRoleRef("rbac.authorization.k8s.io", "ClusterRole", clusterRole)
        .addNewSubject().withApiGroup("rbac.authorization.k8s.io").withKind("Group").withName(Identities.gitRepositoriesOf(ns)).endSubject()
        .build()).create();
  }

  @AfterEach
  void cleanUp() {
    remote.close();
    client.resources(GitRepository.class).inNamespace(ns).delete();
  }

  static String vm(String name, int cpu) {
    return String.format(Locale.ROOT, """
        apiVersion: procurator.dev/v1alpha1
        kind: VM
        metadata:
          name: %s
        spec:
          cpu: %d
          memory: 128Mi
          boot:
            kernel: hello/vmlinux
        """, name, cpu);
  }

  private GitRepository repo(String name, GitRepositorySpec spec) {
    GitRepository r = new GitRepository();
    r.setMetadata(new ObjectMetaBuilder().withName(name).withNamespace(ns).build());
    r.setSpec(spec);
    return client.resource(r).create();
  }

  private GitRepository get(String name) {
    return client.resources(GitRepository.class).inNamespace(ns).withName(name).get();
  }

  private VM vmNamed(String name) {
    return client.resources(VM.class).inNamespace(ns).withName(name).get();
  }

  private static Condition condition(GitRepository r, String type) {
    return r.getStatus() == null ? null : Conditions.find(r.getStatus().conditions(), type).orElse(null);
  }

  private GitRepository awaitApplied(String name, String commit) {
    await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> {
      GitRepository r = get(name);
      assertThat(r.getStatus()).isNotNull();
      assertThat(r.getStatus().lastAppliedCommit()).as("status: %s", r.getStatus()).isEqualTo(commit);
      assertThat(condition(r, "Ready")).isNotNull();
      assertThat(condition(r, "Ready").getStatus()).isEqualTo("True");
    });
    return get(name);
  }

  @Test
  void aCommitThatAddsChangesAndRemovesManifestsEndsAppliedUpdatedAndPruned() throws Exception {
    String first = remote.push("two VMs", Map.of("vms/a.yaml", vm("a", 1), "vms/b.yaml", vm("b", 1), "README.md", "not a manifest"));
    repo("fleet", new GitRepositorySpec(remote.fileUrl(), "main", "vms", 1, true));
    GitRepository r = awaitApplied("fleet", first);
    assertThat(vmNamed("a").getMetadata().getLabels()).containsEntry(GitSync.LABEL_NAME, "fleet").containsEntry(GitSync.LABEL_NAMESPACE, ns);
    assertThat(r.getStatus().inventory()).extracting(GitRepositoryStatus.InventoryEntry::name).containsExactly("a", "b");
    assertThat(r.getStatus().inventory().getFirst().group()).isEqualTo("procurator.dev");
    assertThat(r.getStatus().lastSync().created()).isEqualTo(2);

    Map<String, String> change = new HashMap<>();
    change.put("vms/a.yaml", vm("a", 2));
    change.put("vms/b.yaml", null);
    change.put("vms/more/c.yaml", vm("c", 1) + "---\n" + vm("d", 1));
    String second = remote.push("a grows, b goes, c and d come", change);
    r = awaitApplied("fleet", second);
    assertThat(vmNamed("a").getSpec().cpu()).isEqualTo(2);
    assertThat(vmNamed("b")).isNull();
    assertThat(vmNamed("c")).isNotNull();
    assertThat(vmNamed("d")).isNotNull();
    assertThat(r.getStatus().lastSync().changes()).contains("vm/a configured", "vm/b pruned", "vm/c created", "vm/d created");
    assertThat(r.getStatus().lastSync().updated()).isEqualTo(1);
    assertThat(r.getStatus().lastSync().pruned()).isEqualTo(1);
    assertThat(r.getStatus().lastAttemptedCommit()).isEqualTo(second);
  }

  @Test
  void aCommitWithAYamlErrorOrASchemaViolationAppliesNothingAndNamesTheFile() throws Exception {
    String good = remote.push("one VM", Map.of("a.yaml", vm("a", 1)));
    repo("fleet", new GitRepositorySpec(remote.fileUrl(), "main", ".", 1, true));
    awaitApplied("fleet", good);

    String broken = remote.push("a typo", Map.of("b.yaml", vm("b", 1), "c.yaml", "apiVersion: procurator.dev/v1alpha1\nkind: VM\nmetadata: {name: c\nspec: {}\n"));
    await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> {
      GitRepository r = get("fleet");
      Condition ready = condition(r, "Ready");
      assertThat(ready).as("condition").isNotNull();
      assertThat(ready.getStatus()).isEqualTo("False");
      assertThat(ready.getReason()).isEqualTo("ValidationFailed");
      assertThat(ready.getMessage()).contains("c.yaml").contains("line");
      assertThat(r.getStatus().lastAttemptedCommit()).isEqualTo(broken);
      assertThat(r.getStatus().lastAppliedCommit()).isEqualTo(good);
    });
    assertThat(vmNamed("b")).as("nothing of a bad commit is applied").isNull();

    String invalid = remote.push("a schema violation", Map.of("c.yaml", vm("c", -3)));
    await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> {
      GitRepository r = get("fleet");
      assertThat(r.getStatus().lastAttemptedCommit()).isEqualTo(invalid);
      Condition ready = condition(r, "Ready");
      assertThat(ready).as("condition").isNotNull();
      assertThat(ready.getReason()).isEqualTo("ValidationFailed");
      assertThat(ready.getMessage()).contains("c.yaml, document 1").contains("spec.cpu");
    });
    assertThat(vmNamed("b")).isNull();
    assertThat(vmNamed("c")).isNull();

    String fixed = remote.push("fixed", Map.of("c.yaml", vm("c", 1)));
    awaitApplied("fleet", fixed);
    assertThat(vmNamed("b")).isNotNull();
    assertThat(vmNamed("c")).isNotNull();
  }

  @Test
  void aKubectlEditOfAFieldGitSetsIsPutBack() throws Exception {
    String c = remote.push("web", Map.of("web.yaml", vm("web", 1)));
    repo("fleet", new GitRepositorySpec(remote.fileUrl(), "main", ".", 1, true));
    awaitApplied("fleet", c);
    var edit = api.kubectl(null, "patch", "vm", "web", "-n", ns, "--type", "merge", "-p", "{\"spec\":{\"cpu\":4}}");
    assertThat(edit.exit()).as(edit.output()).isZero();
    await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> assertThat(vmNamed("web").getSpec().cpu()).isEqualTo(1));
    // the correction is said where a user looks: an Event naming the field (InSync held before the edit, so it proves nothing)
    await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> assertThat(client.v1().events().inNamespace(ns)
        .withField("involvedObject.name", "fleet").list().getItems())
        .anySatisfy(e -> {
          assertThat(e.getReason()).isEqualTo("DriftCorrected");
          assertThat(e.getMessage()).contains("spec.cpu");
        }));
    await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> assertThat(condition(get("fleet"), "Drifted").getStatus()).isEqualTo("False"));
  }

  @Test
  void underDetectADriftedFieldIsReportedAndLeftAlone() throws Exception {
    String c = remote.push("web", Map.of("web.yaml", vm("web", 1)));
    repo("fleet", new GitRepositorySpec(remote.fileUrl(), "main", ".", 1, true).withDriftPolicy(GitRepositorySpec.DriftPolicy.DETECT));
    awaitApplied("fleet", c);
    var edit = api.kubectl(null, "patch", "vm", "web", "-n", ns, "--type", "merge", "-p", "{\"spec\":{\"cpu\":4}}");
    assertThat(edit.exit()).as(edit.output()).isZero();
    await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> {
      Condition drifted = condition(get("fleet"), "Drifted");
      assertThat(drifted).as("condition").isNotNull();
      assertThat(drifted.getStatus()).isEqualTo("True");
      assertThat(drifted.getMessage()).contains("vm/web").contains(".spec.cpu");
    });
    assertThat(vmNamed("web").getSpec().cpu()).isEqualTo(4);
  }

  @Test
  void anObjectWithServerDefaultsIsNeverDriftedOverTenSyncs() throws Exception {
    // restartPolicy, network and the boot command line are left to the server's defaults
    String c = remote.push("web", Map.of("web.yaml", vm("web", 1)));
    repo("fleet", new GitRepositorySpec(remote.fileUrl(), "main", ".", 3600, true));
    awaitApplied("fleet", c);
    String version = vmNamed("web").getMetadata().getResourceVersion();
    for (int i = 0; i < 10; i++) {
      String at = "sync-" + i;
      client.resources(GitRepository.class).inNamespace(ns).withName("fleet")
          .edit(r -> {
            if (r.getMetadata().getAnnotations() == null) {
              r.getMetadata().setAnnotations(new HashMap<>());
            }
            r.getMetadata().getAnnotations().put(GitSync.REQUESTED_AT, at);
            return r;
          });
      await().atMost(Duration.ofSeconds(15)).until(() -> at.equals(get("fleet").getStatus().lastHandledRequest()));
      GitRepository r = get("fleet");
      assertThat(condition(r, "Drifted").getStatus()).isEqualTo("False");
      assertThat(condition(r, "Ready").getStatus()).isEqualTo("True");
    }
    assertThat(vmNamed("web").getMetadata().getResourceVersion()).as("ten syncs wrote nothing").isEqualTo(version);
  }

  private static String sign(String secret, byte[] body) throws Exception {
    Mac mac = Mac.getInstance("HmacSHA256");
    mac.init(new SecretKeySpec(secret.getBytes(StandardCharsets.UTF_8), "HmacSHA256"));
    return HexFormat.of().formatHex(mac.doFinal(body));
  }

  private void secret(String name, Map<String, String> values) {
    client.resource(secretIn(ns, name, values)).create();
  }

  private static Secret secretIn(String namespace, String name, Map<String, String> values) {
    Secret s = new Secret();
    s.setMetadata(new ObjectMetaBuilder().withName(name).withNamespace(namespace).build());
    Map<String, String> data = new HashMap<>();
    values.forEach((k, v) -> data.put(k, java.util.Base64.getEncoder().encodeToString(v.getBytes(StandardCharsets.UTF_8))));
    s.setSpec(new SecretSpec(data, null));
    return s;
  }

  @Test
  void aSignedWebhookCallSyncsAtOnceAndABadSignatureIsRefused() throws Exception {
    String c = remote.push("web", Map.of("web.yaml", vm("web", 1)));
    secret("hook", Map.of("token", "s3cret"));
    repo("fleet", new GitRepositorySpec(remote.fileUrl(), "main", ".", 3600, true).withWebhookSecretRef("hook"));
    awaitApplied("fleet", c);
    String next = remote.push("more", Map.of("db.yaml", vm("db", 1)));
    byte[] body = "{\"ref\":\"refs/heads/main\"}".getBytes(StandardCharsets.UTF_8);
    String path = "/hooks/gitrepositories/" + ns + "/fleet";

    HttpResponse<String> bad = api.request("POST", path, "application/json", new String(body, StandardCharsets.UTF_8).replace("main", "evil"),
        null, Map.of("X-Hub-Signature-256", "sha256=" + sign("s3cret", body)));
    assertThat(bad.statusCode()).isEqualTo(401);
    HttpResponse<String> unsigned = api.request("POST", path, "application/json", new String(body, StandardCharsets.UTF_8), null, Map.of());
    assertThat(unsigned.statusCode()).isEqualTo(401);
    assertThat(get("fleet").getMetadata().getAnnotations()).doesNotContainKey(GitSync.REQUESTED_AT);

    HttpResponse<String> wrongForgejo = api.request("POST", path, "application/json", new String(body, StandardCharsets.UTF_8), null,
        Map.of("X-Forgejo-Signature", sign("not-the-secret", body)));
    assertThat(wrongForgejo.statusCode()).isEqualTo(401);
    assertThat(get("fleet").getMetadata().getAnnotations()).doesNotContainKey(GitSync.REQUESTED_AT);

    // each forge's own header, rightly signed, brings the commit pushed just before it; the interval is an hour,
    // so only the webhook can have brought it
    int cpu = 1;
    for (Map.Entry<String, String> forge : List.of(
        Map.entry("X-Gitea-Signature", ""), Map.entry("X-Hub-Signature-256", "sha256="), Map.entry("X-Forgejo-Signature", ""))) {
      HttpResponse<String> good = api.request("POST", path, "application/json", new String(body, StandardCharsets.UTF_8), null,
          Map.of(forge.getKey(), forge.getValue() + sign("s3cret", body)));
      assertThat(good.statusCode()).as(forge.getKey() + ": " + good.body()).isEqualTo(202);
      awaitApplied("fleet", next);
      assertThat(vmNamed("db").getSpec().cpu()).isEqualTo(cpu);
      next = remote.push("more after " + forge.getKey(), Map.of("db.yaml", vm("db", ++cpu)));
    }
    assertThat(vmNamed("db")).isNotNull();
  }

  /**
   * The confused deputy: a developer's repository binds the controllers' role to the developer,
   * and writes into another namespace. Applied with the controllers' identity both worked; applied
   * as the repository's own identity, which holds only the developer role in its namespace, the
   * commit is refused whole and the condition names the file and what was missing.
   */
  @Test
  void aRepositoryAppliesAsItsOwnIdentityAndCannotEscalateOrLeaveItsNamespace() throws Exception {
    String dev = TestNames.unique("dev");
    grant(client, dev, "developer");
    String other = TestNames.unique("other");
    String escalation = String.format(Locale.ROOT, """
        apiVersion: rbac.authorization.k8s.io/v1
        kind: ClusterRoleBinding
        metadata: {name: %s}
        roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: system:procurator-controllers}
        subjects: [{apiGroup: rbac.authorization.k8s.io, kind: User, name: mallory}]
        """, dev + "-escalates");
    String elsewhere = vm("planted", 1).replace("metadata:\n", "metadata:\n  namespace: " + other + "\n");
    String c = remote.push("escalate", Map.of("a.yaml", vm("a", 1), "rbac.yaml", escalation, "elsewhere.yaml", elsewhere));
    GitRepository r = new GitRepository();
    r.setMetadata(new ObjectMetaBuilder().withName("fleet").withNamespace(dev).build());
    r.setSpec(new GitRepositorySpec(remote.fileUrl(), "main", ".", 1, true));
    client.resource(r).create();
    try {
      await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> {
        GitRepository now = client.resources(GitRepository.class).inNamespace(dev).withName("fleet").get();
        Condition ready = condition(now, "Ready");
        assertThat(ready).as("condition").isNotNull();
        assertThat(ready.getStatus()).isEqualTo("False");
        assertThat(ready.getReason()).isEqualTo("Forbidden");
        assertThat(ready.getMessage()).contains("rbac.yaml").contains("User \"system:gitops:" + dev + ":fleet\" cannot")
            .contains("\"clusterrolebindings\"").contains("elsewhere.yaml").contains("in the namespace \"" + other + "\"");
        assertThat(now.getStatus().lastAttemptedCommit()).isEqualTo(c);
      });
      assertThat(client.rbac().clusterRoleBindings().withName(dev + "-escalates").get()).isNull();
      assertThat(client.resources(VM.class).inNamespace(other).withName("planted").get()).isNull();
      assertThat(client.resources(VM.class).inNamespace(dev).withName("a").get()).as("nothing of a denied commit is applied").isNull();

      // what the developer role allows in its own namespace is applied
      Map<String, String> remove = new HashMap<>();
      remove.put("rbac.yaml", null);
      remove.put("elsewhere.yaml", null);
      String fine = remote.push("only a VM", remove);
      await().atMost(Duration.ofSeconds(30)).untilAsserted(() ->
          assertThat(client.resources(GitRepository.class).inNamespace(dev).withName("fleet").get().getStatus().lastAppliedCommit())
              .isEqualTo(fine));
      assertThat(client.resources(VM.class).inNamespace(dev).withName("a").get()).isNotNull();
    } finally {
      client.resources(GitRepository.class).inNamespace(dev).delete();
    }
  }

  /**
   * A developer may write Secrets but not read them. Naming one in secretRef sent its username
   * and password to a remote of the developer's choosing; now the Secret is read as the
   * repository's identity, and used only if that identity may get it.
   */
  @Test
  void aSecretIsUsedOnlyIfTheRepositorysIdentityMayReadIt() throws Exception {
    String dev = TestNames.unique("dev");
    grant(client, dev, "developer");
    String c = remote.push("web", Map.of("web.yaml", vm("web", 1)));
    try (GitServer http = new GitServer(dir, "deploy", "pa55word")) {
      client.resource(secretIn(dev, "ops-creds", Map.of("username", "deploy", "password", "pa55word"))).create();
      GitRepository r = new GitRepository();
      r.setMetadata(new ObjectMetaBuilder().withName("fleet").withNamespace(dev).build());
      r.setSpec(new GitRepositorySpec(http.url("fleet.git"), "main", ".", 1, true).withSecretRef("ops-creds"));
      client.resource(r).create();
      await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> {
        Condition ready = condition(client.resources(GitRepository.class).inNamespace(dev).withName("fleet").get(), "Ready");
        assertThat(ready).as("condition").isNotNull();
        assertThat(ready.getReason()).isEqualTo("SecretForbidden");
        assertThat(ready.getMessage()).contains("ops-creds").contains("system:gitops:" + dev + ":fleet");
      });
      assertThat(http.requestsWithCredentials()).as("the password never left").isZero();

      // an admin lets this repository read that one Secret
      client.rbac().roles().inNamespace(dev).resource(new io.fabric8.kubernetes.api.model.rbac.RoleBuilder()
          .withNewMetadata().withName("read-ops-creds").withNamespace(dev).endMetadata()
          .addNewRule().withApiGroups("procurator.dev").withResources("secrets").withResourceNames("ops-creds").withVerbs("get").endRule()
          .build()).create();
      client.rbac().roleBindings().inNamespace(dev).resource(new RoleBindingBuilder()
          .withNewMetadata().withName("fleet-reads-ops-creds").withNamespace(dev).endMetadata()
          .withNewRoleRef("rbac.authorization.k8s.io", "Role", "read-ops-creds")
          .addNewSubject().withApiGroup("rbac.authorization.k8s.io").withKind("User").withName(Identities.gitRepository(dev, "fleet")).endSubject()
          .build()).create();
      client.resources(GitRepository.class).inNamespace(dev).withName("fleet").edit(x -> {
        x.getMetadata().setAnnotations(Map.of(GitSync.REQUESTED_AT, "after-the-grant"));
        return x;
      });
      await().atMost(Duration.ofSeconds(30)).untilAsserted(() ->
          assertThat(client.resources(GitRepository.class).inNamespace(dev).withName("fleet").get().getStatus().lastAppliedCommit())
              .isEqualTo(c));
    } finally {
      client.resources(GitRepository.class).inNamespace(dev).delete();
    }
  }

  @Test
  void aPrivateHttpRemoteWorksWithItsSecretAndFailsClearlyWithout() throws Exception {
    String c = remote.push("web", Map.of("web.yaml", vm("web", 1)));
    try (GitServer http = new GitServer(dir, "deploy", "pa55word")) {
      repo("fleet", new GitRepositorySpec(http.url("fleet.git"), "main", ".", 1, true));
      await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> {
        Condition ready = condition(get("fleet"), "Ready");
        assertThat(ready).as("condition").isNotNull();
        assertThat(ready.getStatus()).isEqualTo("False");
        assertThat(ready.getReason()).isEqualTo("AuthenticationFailed");
        assertThat(ready.getMessage()).contains("no secretRef");
      });
      secret("git-creds", Map.of("username", "deploy", "password", "pa55word"));
      client.resources(GitRepository.class).inNamespace(ns).withName("fleet").edit(r -> {
        r.setSpec(r.getSpec().withSecretRef("git-creds"));
        return r;
      });
      awaitApplied("fleet", c);
      assertThat(vmNamed("web")).isNotNull();
    }
  }

  @Test
  void aPrivateHttpsRemoteSignedByAPrivateCaWorksWithTheCaInItsSecret() throws Exception {
    String c = remote.push("web", Map.of("web.yaml", vm("web", 1)));
    dev.procurator.apiserver.auth.Pki pki = dev.procurator.apiserver.auth.Pki.ensure(dir.resolve("git-pki"), java.util.List.of("127.0.0.1"));
    try (GitServer https = new GitServer(dir, "deploy", "pa55word", pki)) {
      secret("git-creds", Map.of("username", "deploy", "password", "pa55word"));
      repo("fleet", new GitRepositorySpec(https.url("fleet.git"), "main", ".", 1, true).withSecretRef("git-creds"));
      await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> {
        Condition ready = condition(get("fleet"), "Ready");
        assertThat(ready).as("condition").isNotNull();
        assertThat(ready.getStatus()).isEqualTo("False");
        assertThat(ready.getReason()).isEqualTo("FetchFailed");
      });
      String caPem = pki.caPem();
      client.resources(Secret.class).inNamespace(ns).withName("git-creds").edit(sec -> {
        Map<String, String> data = new HashMap<>(sec.getSpec().data());
        data.put("ca.crt", java.util.Base64.getEncoder().encodeToString(caPem.getBytes(StandardCharsets.UTF_8)));
        sec.setSpec(new SecretSpec(data, null));
        return sec;
      });
      awaitApplied("fleet", c);
      assertThat(vmNamed("web")).isNotNull();
    }
  }

  @Test
  void aTagOrACommitCanBeTheRef() throws Exception {
    String v1 = remote.push("v1", Map.of("web.yaml", vm("web", 1)));
    remote.tag("v1");
    String v2 = remote.push("v2", Map.of("web.yaml", vm("web", 2)));
    repo("fleet", new GitRepositorySpec(remote.fileUrl(), "v1", ".", 1, true));
    awaitApplied("fleet", v1);
    assertThat(vmNamed("web").getSpec().cpu()).isEqualTo(1);
    // a full SHA, of a commit no branch or tag it followed so far points at: only resolving the SHA brings it
    client.resources(GitRepository.class).inNamespace(ns).withName("fleet").edit(r -> {
      r.setSpec(r.getSpec().withRef(v2));
      return r;
    });
    awaitApplied("fleet", v2);
    assertThat(vmNamed("web").getSpec().cpu()).isEqualTo(2);
    // and back, by v1's SHA
    client.resources(GitRepository.class).inNamespace(ns).withName("fleet").edit(r -> {
      r.setSpec(r.getSpec().withRef(v1));
      return r;
    });
    awaitApplied("fleet", v1);
    await().atMost(Duration.ofSeconds(30)).until(() -> get("fleet").getStatus().observedGeneration() == 3L);
    assertThat(vmNamed("web").getSpec().cpu()).isEqualTo(1);
  }

  @Test
  void deletingTheGitRepositoryPrunesWhatItAppliedAndNothingElse() throws Exception {
    String c = remote.push("two", Map.of("a.yaml", vm("a", 1), "b.yaml", vm("b", 1)));
    repo("fleet", new GitRepositorySpec(remote.fileUrl(), "main", ".", 1, true));
    awaitApplied("fleet", c);
    // someone takes b out of git's hands: it no longer carries the GitRepository's labels
    var unlabel = api.kubectl(null, "label", "vm", "b", "-n", ns, GitSync.LABEL_NAME + "-", GitSync.LABEL_NAMESPACE + "-");
    assertThat(unlabel.exit()).as(unlabel.output()).isZero();
    client.resources(GitRepository.class).inNamespace(ns).withName("fleet").delete();
    await().atMost(Duration.ofSeconds(30)).until(() -> get("fleet") == null);
    assertThat(vmNamed("a")).isNull();
    assertThat(vmNamed("b")).as("an object git no longer owns is never touched").isNotNull();
  }

  @Test
  void suspendStopsSyncing() throws Exception {
    String c = remote.push("one", Map.of("a.yaml", vm("a", 1)));
    repo("fleet", new GitRepositorySpec(remote.fileUrl(), "main", ".", 1, true));
    awaitApplied("fleet", c);
    client.resources(GitRepository.class).inNamespace(ns).withName("fleet").edit(r -> {
      r.setSpec(r.getSpec().withSuspend(true));
      return r;
    });
    await().atMost(Duration.ofSeconds(15)).until(() -> condition(get("fleet"), "Reconciling") != null
        && "Suspended".equals(condition(get("fleet"), "Reconciling").getReason()));
    remote.push("two", Map.of("b.yaml", vm("b", 1)));
    // a sync would come within the 1 s interval; several intervals pass with none
    await().during(Duration.ofSeconds(4)).atMost(Duration.ofSeconds(6)).until(() -> vmNamed("b") == null);
    assertThat(get("fleet").getStatus().lastAppliedCommit()).isEqualTo(c);
  }
}
