package dev.procurator.pctl;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.procurator.api.runtime.Conditions;
import dev.procurator.api.v1alpha1.BinaryCache;
import dev.procurator.api.v1alpha1.BinaryCacheSpec;
import dev.procurator.api.v1alpha1.Build;
import dev.procurator.api.v1alpha1.BuildAgreements;
import dev.procurator.api.v1alpha1.BuildPhase;
import dev.procurator.api.v1alpha1.Identities;
import dev.procurator.api.v1alpha1.Secret;
import dev.procurator.api.v1alpha1.SecretSpec;
import dev.procurator.apiserver.testing.EtcdProcess;
import dev.procurator.apiserver.testing.TestNames;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.dsl.base.PatchContext;
import io.fabric8.kubernetes.client.dsl.base.PatchType;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * Nobody borrows the platform's power through a Build, against {@code pctl up} with kubectl and a
 * developer's own kubeconfig: a Build pushes only to a cache an admin registered as a BinaryCache
 * (422 at {@code spec.cache}, and the builder refuses too), and it uses the Secret in {@code
 * cacheSecretRef} only if its creator may get it (403 at admission; {@code SecretForbidden} from the
 * builder, which asks with a SubjectAccessReview as the creator the API server recorded). A
 * recording server in place of the cache shows that no token was ever sent.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class BuildCacheTenancyIT {
  private PctlUp up;
  private KubernetesClient admin;
  private Path dave;
  private Path flake;
  private Recorder cache;
  private final String token = "push-" + TestNames.random(24);
  private static final String SECRET = "team-b-push";
  private static final String HOLD = "tenancy-test-hold";

  /** An HTTP server on 127.0.0.1 standing in for a cache: answers 404 and keeps every request's line and Authorization header. */
  static final class Recorder implements AutoCloseable {
    final com.sun.net.httpserver.HttpServer server;
    final List<String> requests = new CopyOnWriteArrayList<>();

    Recorder() throws IOException {
      server = com.sun.net.httpserver.HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
      server.createContext("/", ex -> {
        requests.add(ex.getRequestMethod() + " " + ex.getRequestURI() + " " + ex.getRequestHeaders().getFirst("Authorization"));
        ex.getRequestBody().readAllBytes();
        ex.sendResponseHeaders(404, -1);
        ex.close();
      });
      server.start();
    }

    String url() {
      return "http://127.0.0.1:" + server.getAddress().getPort();
    }

    @Override
    public void close() {
      server.stop(0);
    }
  }

  @BeforeAll
  void start() throws Exception {
    up = PctlUp.system();
    admin = KubeClients.fromKubeconfig(up.kubeconfig());
    cache = new Recorder();
    flake = TestFlakes.oneDerivation(up.dataDir.getParent().resolve(TestNames.unique("tenancy-flake")), "hello",
        "export PATH=/usr/bin:/bin; echo hello > $out");
    kubectl(up.kubeconfig(), null, "create", "clusterrolebinding", "devs", "--clusterrole=developer", "--group=devs").ok();
    dave = Files.createTempFile(up.dataDir, "kubeconfig-dave", ".yaml");
    PctlRun r = PctlRun.run(up.kubeconfig(), "kubeconfig", "--user", "dave", "--group", "devs", "-o", dave.toString());
    assertThat(r.code()).as(r.err()).isZero();
    // another team's push token: dave may create Secrets, but not read this one
    Secret s = new Secret();
    s.setMetadata(new ObjectMetaBuilder().withName(SECRET).withNamespace("default").build());
    s.setSpec(new SecretSpec(null, Map.of("token", token)));
    admin.resource(s).create();
  }

  @AfterAll
  void stop() throws Exception {
    if (cache != null) {
      cache.close();
    }
    if (admin != null) {
      admin.close();
    }
    if (up != null) {
      Path data = up.dataDir;
      up.close();
      EtcdProcess.deleteTree(data);
    }
    if (flake != null) {
      EtcdProcess.deleteTree(flake);
    }
  }

  record Out(int exit, String output) {
    Out ok() {
      assertThat(exit).as(output).isZero();
      return this;
    }

    Out refused() {
      assertThat(exit).as(output).isNotZero();
      return this;
    }
  }

  private static Out kubectl(Path kubeconfig, String stdin, String... args) throws Exception {
    List<String> cmd = new java.util.ArrayList<>(List.of("kubectl", "--kubeconfig", kubeconfig.toString()));
    cmd.addAll(List.of(args));
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    if (stdin != null) {
      p.getOutputStream().write(stdin.getBytes(StandardCharsets.UTF_8));
    }
    p.getOutputStream().close();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    return new Out(p.waitFor(), out);
  }

  /** A Build of the test flake as YAML; {@code extra} is added to its spec (indented two spaces). */
  private String build(String name, String extra) {
    return String.format(Locale.ROOT, """
        apiVersion: procurator.dev/v1alpha1
        kind: Build
        metadata:
          name: %s
          namespace: default
        spec:
          flake: path:%s
          attributes: [hello]
          backoffLimit: 0
        %s
        """, name, flake, extra.indent(2));
  }

  private void register(String name, String url) {
    BinaryCache c = new BinaryCache();
    c.setMetadata(new ObjectMetaBuilder().withName(name).build());
    c.setSpec(new BinaryCacheSpec(url));
    admin.resource(c).create();
  }

  private Build finished(String name) {
    await().atMost(Duration.ofMinutes(2)).until(() -> {
      Build b = admin.resources(Build.class).inNamespace("default").withName(name).get();
      return b.getStatus() != null && b.getStatus().phase() != null && b.getStatus().phase().finished();
    });
    return admin.resources(Build.class).inNamespace("default").withName(name).get();
  }

  private void release(String name) {
    admin.resources(Build.class).inNamespace("default").withName(name)
        .patch(PatchContext.of(PatchType.JSON_MERGE), "{\"spec\":{\"nodeSelector\":null}}");
  }

  private void noTokenSent() {
    assertThat(cache.requests).as("the cache stand-in was never sent the token").noneMatch(r -> r.contains(
        java.util.Base64.getEncoder().encodeToString(("nix:" + token).getBytes(StandardCharsets.UTF_8))));
  }

  @Test
  void pctlUpRegistersItsOwnCache() throws Exception {
    assertThat(kubectl(dave, null, "get", "binarycaches").ok().output()).contains(UpCommand.OWN_CACHE, "http://127.0.0.1:" + up.cachePort);
    // a developer reads the registrations but does not write them
    assertThat(kubectl(dave, null, "delete", "binarycache", UpCommand.OWN_CACHE).refused().output()).containsIgnoringCase("forbidden");
  }

  @Test
  void aBuildThatNamesAnUnregisteredCacheIsInvalid() throws Exception {
    String name = TestNames.unique("unregistered");
    Out out = kubectl(dave, build(name, "cache: http://127.0.0.1:" + EtcdProcess.freePort()), "apply", "-f", "-").refused();
    assertThat(out.output()).contains("is invalid", "spec.cache", "is not a registered binary cache");
    // pctl up's own cache, named explicitly, is registered
    String own = TestNames.unique("own");
    kubectl(dave, build(own, "cache: http://127.0.0.1:" + up.cachePort + "?compression=xz\nnodeSelector: {" + HOLD + ": \"yes\"}"),
        "apply", "-f", "-").ok();
    admin.resources(Build.class).inNamespace("default").withName(own).delete();
  }

  @Test
  void aBuildThatNamesASecretItsCreatorMayNotGetIsForbidden() throws Exception {
    String registration = TestNames.unique("recorder");
    register(registration, cache.url());
    try {
      String name = TestNames.unique("borrow");
      Out out = kubectl(dave, build(name, "cache: " + cache.url() + "\ncacheSecretRef: {name: " + SECRET + "}"), "apply", "-f", "-").refused();
      assertThat(out.output()).containsIgnoringCase("forbidden").contains(SECRET, "dave");
      assertThat(admin.resources(Build.class).inNamespace("default").withName(name).get()).isNull();
      noTokenSent();
    } finally {
      admin.resources(BinaryCache.class).withName(registration).delete();
    }
  }

  @Test
  void theServerRecordsTheCreatorAndNoClientSetsOrChangesIt() throws Exception {
    String name = TestNames.unique("requester");
    String forged = new Identities.User("admin", List.of("system:masters")).annotation();
    String yaml = build(name, "nodeSelector: {" + HOLD + ": \"yes\"}").replace("  namespace: default\n",
        "  namespace: default\n  annotations:\n    " + Identities.REQUESTER + ": '" + forged + "'\n");
    kubectl(dave, yaml, "apply", "-f", "-").ok();
    try {
      Identities.User recorded = Identities.User.ofAnnotation(
          admin.resources(Build.class).inNamespace("default").withName(name).get().getMetadata().getAnnotations().get(Identities.REQUESTER));
      assertThat(recorded.name()).isEqualTo("dave");
      assertThat(recorded.groups()).contains("devs").doesNotContain("system:masters");
      kubectl(dave, null, "annotate", "--overwrite", "build", name, Identities.REQUESTER + "=" + forged).ok();
      assertThat(Identities.User.ofAnnotation(admin.resources(Build.class).inNamespace("default").withName(name).get().getMetadata()
          .getAnnotations().get(Identities.REQUESTER))).isEqualTo(recorded);
    } finally {
      admin.resources(Build.class).inNamespace("default").withName(name).delete();
    }
  }

  @Test
  void theBuilderUsesNoSecretItsCreatorMayNoLongerGet() throws Exception {
    String registration = TestNames.unique("recorder");
    register(registration, cache.url());
    String role = TestNames.unique("read-push");
    try {
      // dave may get the Secret for now: the Build is admitted and waits, held by its nodeSelector
      kubectl(up.kubeconfig(), null, "create", "role", role, "--verb=get", "--resource=secrets.procurator.dev", "--resource-name=" + SECRET,
          "-n", "default").ok();
      kubectl(up.kubeconfig(), null, "create", "rolebinding", role, "--role=" + role, "--user=dave", "-n", "default").ok();
      String name = TestNames.unique("revoked");
      kubectl(dave, build(name, "cache: " + cache.url() + "\ncacheSecretRef: {name: " + SECRET + "}\nnodeSelector: {" + HOLD + ": \"yes\"}"),
          "apply", "-f", "-").ok();
      // then the right is taken away, and the admin lets the Build run
      kubectl(up.kubeconfig(), null, "delete", "rolebinding", role, "-n", "default").ok();
      release(name);
      Build b = finished(name);
      assertThat(b.getStatus().phase()).isEqualTo(BuildPhase.FAILED);
      assertThat(Conditions.reason(b.getStatus().conditions(), BuildAgreements.READY)).as(b.getStatus().message()).isEqualTo("SecretForbidden");
      assertThat(b.getStatus().message()).contains(SECRET, "dave");
      noTokenSent();
      assertThat(cache.requests).isEmpty();
    } finally {
      admin.resources(BinaryCache.class).withName(registration).delete();
      kubectl(up.kubeconfig(), null, "delete", "role", role, "-n", "default");
    }
  }

  @Test
  void theBuilderPushesToNoCacheThatIsNoLongerRegistered() throws Exception {
    try (Recorder other = new Recorder()) {
      String registration = TestNames.unique("other");
      register(registration, other.url());
      String name = TestNames.unique("unregistered-later");
      kubectl(dave, build(name, "cache: " + other.url() + "\nnodeSelector: {" + HOLD + ": \"yes\"}"), "apply", "-f", "-").ok();
      admin.resources(BinaryCache.class).withName(registration).delete();
      release(name);
      Build b = finished(name);
      assertThat(Conditions.reason(b.getStatus().conditions(), BuildAgreements.READY)).as(b.getStatus().message()).isEqualTo("CacheNotRegistered");
      assertThat(b.getStatus().message()).contains(other.url());
      assertThat(other.requests).isEmpty();
    }
  }
}
