package dev.procurator.nodeagent;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.procurator.api.runtime.Conditions;
import dev.procurator.api.v1alpha1.RestartPolicy;
import dev.procurator.api.v1alpha1.Secret;
import dev.procurator.api.v1alpha1.SecretSpec;
import dev.procurator.api.v1alpha1.VM;
import dev.procurator.api.v1alpha1.VMPhase;
import dev.procurator.api.v1alpha1.VMSpec;
import dev.procurator.apiserver.testing.TestApiServer;
import dev.procurator.nodeagent.testing.Guest;
import dev.procurator.nodeagent.vm.VmLoop;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A VM's Secrets inside its guest, with a real agent and QEMU: files under the mount path (shared
 * read-only over virtio-9p from a tmpfs on the host), a changed value seen by the running guest,
 * a missing Secret holding the VM Pending, and the files gone with the VM.
 */
class SecretsIT {
  private static Path images;
  @TempDir Path data;
  private final HttpClient http = HttpClient.newHttpClient();

  @BeforeAll
  static void guest() throws Exception {
    images = Guest.images();
  }

  @AfterEach
  void killLeftovers() throws Exception {
    Guest.killMachines(data);
  }

  /** The agent of node-s, as its node, serving its logs endpoint over TLS with the node's certificate. */
  private NodeAgent agent(TestApiServer api, KubernetesClient c) throws Exception {
    VmLoop.Settings s = new VmLoop.Settings(Duration.ofMinutes(2), Duration.ofSeconds(10), Duration.ofMillis(500),
        Duration.ofSeconds(5), 1 << 20, Duration.ofSeconds(30));
    var cert = api.nodeCertificate("node-s"); // names the node's current identity, as the API server checks
    return new NodeAgent(c, NodeAgent.Config.of("node-s", data).withImagesDir(images).withSettings(s), Clock.systemUTC())
        .withServingTls(new dev.procurator.nodeagent.http.AgentHttp.Tls(cert.certPem(), cert.keyPem(), api.pki().caPem())).start();
  }

  private static VM vm(String name, String secret) {
    VM v = new VM();
    v.setMetadata(new ObjectMetaBuilder().withName(name).withNamespace("default").build());
    v.setSpec(new VMSpec(1, "128Mi", null, new VMSpec.Boot(null, "hello/vmlinux", "hello/initrd.cpio.gz", "console=ttyS0"), "node-s",
        null, new VMSpec.Network(null, List.of(new VMSpec.PortForward(8080, null))), List.of(new VMSpec.SecretMount(secret, "/www/secrets")),
        null, RestartPolicy.NEVER, null));
    return v;
  }

  private static Secret secret(String name, Map<String, String> values) {
    Secret s = new Secret();
    s.setMetadata(new ObjectMetaBuilder().withName(name).withNamespace("default").build());
    s.setSpec(new SecretSpec(null, values));
    return s;
  }

  private String fetch(KubernetesClient c, String vm, String path) throws Exception {
    int port = c.resources(VM.class).inNamespace("default").withName(vm).get().getStatus().ports().getFirst().host();
    HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
        .timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.ofString());
    return r.statusCode() + " " + r.body();
  }

  @Test
  void aGuestSeesItsSecretsAndTheirChangesAndAMissingOneWaits() throws Exception {
    try (TestApiServer api = TestApiServer.embedded()) {
      KubernetesClient c = api.client();
      var vms = c.resources(VM.class).inNamespace("default");
      c.resource(secret("app", Map.of("password", "s3cret", "API_KEY", "k'1"))).create();
      vms.resource(vm("web", "app")).create();
      vms.resource(vm("waiting", "absent")).create();
      // the agent runs as its node, which may read only what is bound to it
      KubernetesClient node = api.nodeClient("node-s");
      NodeAgent agent = agent(api, node);
      try {
        // the guest's web server shows the files the Secret became
        await().atMost(Duration.ofSeconds(120)).until(() -> vms.withName("web").get().getStatus() != null
            && vms.withName("web").get().getStatus().phase() == VMPhase.RUNNING);
        await().atMost(Duration.ofSeconds(30)).until(() -> fetch(c, "web", "/secrets/password").equals("200 s3cret"));
        assertThat(fetch(c, "web", "/secrets/.env")).contains("API_KEY='k'\\''1'").contains("password='s3cret'");
        Path onHost = agent.secretsDir().resolve("default/web/0");
        assertThat(onHost.resolve("password")).hasContent("s3cret");
        assertThat(agent.secretsDir().toString()).startsWith("/dev/shm/");
        assertThat(java.nio.file.Files.getPosixFilePermissions(agent.secretsDir()))
            .containsExactlyInAnyOrderElementsOf(java.nio.file.attribute.PosixFilePermissions.fromString("rwx------"));
        assertThat(java.nio.file.Files.getPosixFilePermissions(onHost.resolve("password")))
            .containsExactlyInAnyOrderElementsOf(java.nio.file.attribute.PosixFilePermissions.fromString("r--------"));

        // the console, read through the API server from the agent's TLS endpoint with the server's own certificate
        assertThat(agent.endpoint()).startsWith("https://");
        var log = api.request("GET", "/apis/procurator.dev/v1alpha1/namespaces/default/vms/web/log", null, null);
        assertThat(log.statusCode()).as(log.body()).isEqualTo(200);
        assertThat(log.body()).contains("PROCURATOR-READY");
        // an agent reached for another node's VM is refused by its certificate
        dev.procurator.api.v1alpha1.Node impostor = new dev.procurator.api.v1alpha1.Node();
        impostor.setMetadata(new ObjectMetaBuilder().withName("impostor").build());
        impostor.setSpec(new dev.procurator.api.v1alpha1.NodeSpec(false, agent.endpoint()));
        c.resource(impostor).create();
        VM elsewhere = vm("elsewhere", "app");
        elsewhere.setSpec(elsewhere.getSpec().withNodeName("impostor"));
        vms.resource(elsewhere).create();
        var refused = api.request("GET", "/apis/procurator.dev/v1alpha1/namespaces/default/vms/elsewhere/log", null, null);
        assertThat(refused.statusCode()).isEqualTo(503);
        assertThat(refused.body()).contains("not node impostor's");
        // another node may read neither the VM nor its Secret
        try (KubernetesClient other = api.nodeClient("node-b")) {
          assertThatThrownBy(() -> other.resources(Secret.class).inNamespace("default").withName("app").get())
              .isInstanceOfSatisfying(io.fabric8.kubernetes.client.KubernetesClientException.class, e -> {
                assertThat(e.getCode()).isEqualTo(403);
                assertThat(e.getMessage()).contains("system:node:node-b").contains("secrets");
              });
          assertThatThrownBy(() -> other.resources(VM.class).inNamespace("default").withName("web").get())
              .isInstanceOfSatisfying(io.fabric8.kubernetes.client.KubernetesClientException.class, e -> assertThat(e.getCode()).isEqualTo(403));
          assertThatThrownBy(() -> other.resources(Secret.class).inAnyNamespace().list())
              .isInstanceOfSatisfying(io.fabric8.kubernetes.client.KubernetesClientException.class, e -> assertThat(e.getCode()).isEqualTo(403));
          // and cannot write node-s's Node
          assertThatThrownBy(() -> other.resources(dev.procurator.api.v1alpha1.Node.class).withName("node-s")
              .edit(n -> { n.getMetadata().getLabels().put("stolen", "yes"); return n; }))
              .isInstanceOfSatisfying(io.fabric8.kubernetes.client.KubernetesClientException.class, e -> assertThat(e.getCode()).isEqualTo(403));
        }

        // a changed value reaches the running guest, without a reboot
        long pid = agent.host().running().get(dev.procurator.api.runtime.ObjectKey.of("default", "web"));
        c.resources(Secret.class).inNamespace("default").withName("app").edit(s -> {
          s.setSpec(new SecretSpec(null, Map.of("password", "n3w", "API_KEY", "k'1")));
          return s;
        });
        await().atMost(Duration.ofSeconds(20)).until(() -> fetch(c, "web", "/secrets/password").equals("200 n3w"));
        assertThat(agent.host().running().get(dev.procurator.api.runtime.ObjectKey.of("default", "web"))).isEqualTo(pid);

        // a VM whose Secret does not exist waits, saying which, and starts once it does
        VM waiting = vms.withName("waiting").get();
        await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> {
          VM w = vms.withName("waiting").get();
          assertThat(w.getStatus()).isNotNull();
          assertThat(w.getStatus().phase()).isEqualTo(VMPhase.PENDING);
          var cond = Conditions.find(w.getStatus().conditions(), "SecretsReady").orElseThrow();
          assertThat(cond.getReason()).isEqualTo("SecretNotFound");
          assertThat(cond.getMessage()).contains("absent");
        });
        assertThat(waiting).isNotNull();
        c.resource(secret("absent", Map.of("token", "t"))).create();
        await().atMost(Duration.ofSeconds(120)).until(() -> vms.withName("waiting").get().getStatus().phase() == VMPhase.RUNNING);

        // the files go with the VM
        vms.withName("web").delete();
        await().atMost(Duration.ofSeconds(60)).until(() -> vms.withName("web").get() == null);
        assertThat(agent.secretsDir().resolve("default/web")).doesNotExist();
      } finally {
        agent.close();
        node.close();
        if (Files.exists(agent.secretsDir())) {
          Files.walk(agent.secretsDir()).sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        }
      }
    }
  }

  /**
   * The agent's tmpfs folder cannot be prepared by anyone else: its name is random (mkdtemp), so a
   * folder another user made at a name the agent could be expected to use is never taken, and the
   * next start finds the agent's own folder again, which the VMs it adopts are sharing.
   */
  @Test
  void theTmpfsFolderHasARandomNameNoOneCouldPrepareAndIsFoundAgainAfterARestart() throws Exception {
    // where the agent used to put it: a name anyone on the host could work out and make first
    Path predictable = Path.of("/dev/shm", "procurator-secrets-node-s-" + Integer.toHexString(data.toAbsolutePath().toString().hashCode()));
    Files.createDirectories(predictable);
    Files.setPosixFilePermissions(predictable, java.nio.file.attribute.PosixFilePermissions.fromString("rwxrwxrwx"));
    Path first = null;
    try (TestApiServer api = TestApiServer.embedded(); KubernetesClient node = api.nodeClient("node-s")) {
      NodeAgent agent = agent(api, node);
      try {
        first = agent.secretsDir();
        assertThat(first).isNotEqualTo(predictable);
        assertThat(first.getParent()).isEqualTo(Path.of("/dev/shm"));
        assertThat(first.getFileName().toString()).startsWith("procurator-secrets-");
        assertThat(Files.isSymbolicLink(first)).isFalse();
        assertThat(java.nio.file.attribute.PosixFilePermissions.toString(Files.getPosixFilePermissions(first))).isEqualTo("rwx------");
        // as a VM that keeps running across the restart would have it
        Files.createDirectories(first.resolve("default/running/0"));
        Files.writeString(first.resolve("default/running/0/password"), "s3cret");
      } finally {
        agent.close();
      }
      NodeAgent again = agent(api, node);
      try {
        assertThat(again.secretsDir()).isEqualTo(first);
        assertThat(first.resolve("default/running/0/password")).hasContent("s3cret");
        Files.walk(first.resolve("default")).sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
      } finally {
        again.close();
      }
      assertThat(first).as("an agent leaves no empty folder behind").doesNotExist();
      assertThat(java.nio.file.attribute.PosixFilePermissions.toString(Files.getPosixFilePermissions(predictable)))
          .as("another user's folder is left as it was").isEqualTo("rwxrwxrwx");
    } finally {
      Files.deleteIfExists(predictable);
      if (first != null && Files.isDirectory(first)) {
        try (var walk = Files.walk(first)) {
          walk.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        }
      }
    }
  }
}
