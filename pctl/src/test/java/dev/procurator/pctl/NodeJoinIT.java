package dev.procurator.pctl;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.procurator.api.v1alpha1.Node;
import dev.procurator.api.v1alpha1.Secret;
import dev.procurator.apiserver.testing.TestApiServer;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.client.KubernetesClientException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

/**
 * A host joins as a node with a one-time token and renews its own certificate, against a real
 * API server: the token works once, a taken name is refused, and a short-lived certificate is
 * replaced before it expires without the node's client noticing.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class NodeJoinIT {
  private TestApiServer api;
  @TempDir Path dir;

  @BeforeAll
  void start() throws Exception {
    api = TestApiServer.embedded();
  }

  @AfterAll
  void stop() {
    api.close();
  }

  private String joinToken() throws Exception {
    PctlRun r = PctlRun.run(api.kubeconfig(), "token", "create", "--join");
    assertThat(r.code()).as(r.err()).isZero();
    return r.out().strip();
  }

  private NodeIdentity join(String node, String token, Duration ttl) throws Exception {
    return NodeIdentity.obtain(api.url(), api.pki().caPem(), node, dir.resolve(node), token, ttl, Clock.systemUTC());
  }

  private static Node node(String name) {
    Node n = new Node();
    n.setMetadata(new ObjectMetaBuilder().withName(name).build());
    return n;
  }

  @Test
  void aJoinTokenMakesOneNodeAndOnlyOnce() throws Exception {
    String token = joinToken();
    try (NodeIdentity n1 = join("joiner-1", token, Duration.ofHours(1))) {
      // the node is itself: it writes its own Node, and reads no Secrets
      n1.client().resources(Node.class).resource(node("joiner-1")).create();
      assertThatThrownBy(() -> n1.client().resources(Secret.class).inNamespace("default").list())
          .isInstanceOfSatisfying(KubernetesClientException.class, e -> assertThat(e.getCode()).isEqualTo(403));
      assertThat(Files.getPosixFilePermissions(dir.resolve("joiner-1/node.key")))
          .containsExactlyInAnyOrderElementsOf(java.nio.file.attribute.PosixFilePermissions.fromString("rw-------"));
    }
    assertThatThrownBy(() -> join("joiner-2", token, Duration.ofHours(1)))
        .isInstanceOfSatisfying(KubernetesClientException.class, e -> assertThat(e.getCode()).isEqualTo(401));
    // the control plane kept what it signed, approved
    var csrs = api.client().certificates().v1().certificateSigningRequests().list().getItems();
    assertThat(csrs).anySatisfy(c -> {
      assertThat(c.getSpec().getUsername()).startsWith("system:bootstrap:");
      assertThat(c.getStatus().getConditions()).anySatisfy(cond -> assertThat(cond.getType()).isEqualTo("Approved"));
    });
  }

  @Test
  void aJoinUnderATakenNameIsRefusedAndLeavesTheTokenUnused() throws Exception {
    api.client().resources(Node.class).resource(node("taken")).create();
    String token = joinToken();
    assertThatThrownBy(() -> join("taken", token, Duration.ofHours(1)))
        .isInstanceOfSatisfying(KubernetesClientException.class, e -> {
          assertThat(e.getCode()).isEqualTo(403);
          assertThat(e.getMessage()).contains("exists already");
        });
    try (NodeIdentity free = join("free-name", token, Duration.ofHours(1))) {
      assertThat(free.notAfter()).isAfter(Instant.now().plus(Duration.ofMinutes(50)));
    }
  }

  @Test
  void aShortLivedCertificateIsRenewedBeforeItExpires() throws Exception {
    try (NodeIdentity n = join("renewer", joinToken(), Duration.ofSeconds(12))) {
      Instant first = n.notAfter();
      n.client().resources(Node.class).resource(node("renewer")).create();
      // renewed at 70% of its life, before the first certificate ends
      await().atMost(Duration.ofSeconds(11)).until(() -> n.notAfter().isAfter(first));
      assertThat(Instant.now()).isBefore(first);
      await().atMost(Duration.ofSeconds(15)).until(() -> Instant.now().isAfter(first.plusSeconds(1)));
      // past the first certificate's end, the node still works, and so does one started from the renewed files
      assertThat(n.client().resources(Node.class).withName("renewer").get()).isNotNull();
      try (NodeIdentity again = NodeIdentity.obtain(api.url(), api.pki().caPem(), "renewer", dir.resolve("renewer"), null,
          Duration.ofSeconds(12), Clock.systemUTC())) {
        assertThat(again.client().resources(Node.class).withName("renewer").get()).isNotNull();
      }
      // a node may not ask for another's certificate
      assertThatThrownBy(() -> NodeIdentity.request(n.client(), "someone-else", Duration.ofHours(1), "renew"))
          .isInstanceOfSatisfying(KubernetesClientException.class, e -> {
            assertThat(e.getCode()).isEqualTo(403);
            assertThat(e.getMessage()).contains("its own name only");
          });
    }
  }

  @Test
  void namesOfThePlatformAreRefusedAtJoinAndLeaveTheTokenUnused() throws Exception {
    String token = joinToken();
    for (String reserved : java.util.List.of("procurator-controllers", "system-" + dev.procurator.apiserver.testing.TestNames.unique("x"))) {
      assertThatThrownBy(() -> join(reserved, token, Duration.ofHours(1)))
          .isInstanceOfSatisfying(KubernetesClientException.class, e -> {
            assertThat(e.getCode()).isEqualTo(403);
            assertThat(e.getMessage()).contains("reserved", "join under another name");
          });
    }
    assertThat(api.client().resources(Node.class).withName("procurator-controllers").get()).isNull();
    try (NodeIdentity ok = join(dev.procurator.apiserver.testing.TestNames.unique("plain"), token, Duration.ofHours(1))) {
      assertThat(ok.notAfter()).isAfter(Instant.now());
    }
  }

  @Test
  void aNodeCertificateLastsADayByDefaultWhateverTheNodeAsks() throws Exception {
    try (NodeIdentity n = join(dev.procurator.apiserver.testing.TestNames.unique("greedy"), joinToken(), Duration.ofDays(365))) {
      assertThat(n.notAfter()).isBefore(Instant.now().plus(Duration.ofHours(24)).plusSeconds(60))
          .isAfter(Instant.now().plus(Duration.ofHours(23)));
    }
  }
}
