package dev.procurator.pctl;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.procurator.api.v1alpha1.Node;
import dev.procurator.apiserver.testing.TestNames;
import dev.procurator.apiserver.testing.TestTls;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.assertj.core.api.ThrowableAssert;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Node certificates against {@code pctl up} in its own JVM: they last what {@code --node-cert-ttl}
 * says, whatever a node asks for; deleting a Node or {@code pctl node revoke} refuses its
 * certificates from then on (its open watch ends), also after the API server restarts; and the
 * node joins again with a new token and a certificate that works, while the old one stays
 * refused.
 */
class NodeRevocationIT {
  @TempDir Path dir;

  private static String joinToken(PctlUp up) {
    PctlRun r = PctlRun.run(up.kubeconfig(), "token", "create", "--join");
    assertThat(r.code()).as(r.err()).isZero();
    return r.out().strip();
  }

  /** Joins as {@code node} with {@code token}, keeping the certificate in a folder of its own. */
  private NodeIdentity join(PctlUp up, String node, String token, Duration ttl) throws Exception {
    Path pki = Files.createTempDirectory(dir, node);
    return NodeIdentity.obtain(up.url(), Files.readString(up.dataDir.resolve("pki/ca.crt")), node, pki, token, ttl, Clock.systemUTC());
  }

  private static void registers(NodeIdentity n, String name) {
    Node node = new Node();
    node.setMetadata(new ObjectMetaBuilder().withName(name).build());
    n.client().resources(Node.class).resource(node).create();
  }

  private static void unauthorized(ThrowableAssert.ThrowingCallable call) {
    assertThatThrownBy(call).isInstanceOfSatisfying(KubernetesClientException.class, e -> assertThat(e.getCode()).as(e.getMessage()).isEqualTo(401));
  }

  /** A watch of the VMs bound to the node, opened with its certificate; completes when the server ends the stream. */
  private static CompletableFuture<Integer> watchAs(PctlUp up, Path pki, String node) throws Exception {
    HttpClient http = HttpClient.newBuilder().sslContext(TestTls.withClientCertificate(Files.readString(up.dataDir.resolve("pki/ca.crt")),
        Files.readString(pki.resolve("node.crt")), Files.readString(pki.resolve("node.key")))).build();
    HttpResponse<InputStream> r = http.send(HttpRequest.newBuilder(URI.create(up.url()
        + "/apis/procurator.dev/v1alpha1/vms?watch=1&fieldSelector=spec.nodeName%3D" + node)).build(), HttpResponse.BodyHandlers.ofInputStream());
    assertThat(r.statusCode()).isEqualTo(200);
    return CompletableFuture.supplyAsync(() -> {
      try (InputStream in = r.body()) {
        while (in.read() >= 0) {
          // frames, if any, until the server ends the stream
        }
        return r.statusCode();
      } catch (java.io.IOException e) {
        return -1;
      }
    });
  }

  @Test
  void aNodeCertificateLastsTheServersLifetimeWhateverTheNodeAsks() throws Exception {
    try (PctlUp up = PctlUp.start("--node-cert-ttl", "2h");
        NodeIdentity n = join(up, TestNames.unique("short"), joinToken(up), Duration.ofDays(365))) {
      assertThat(n.notAfter()).isBefore(Instant.now().plus(Duration.ofHours(2)).plusSeconds(60))
          .isAfter(Instant.now().plus(Duration.ofHours(2)).minusSeconds(600));
    }
  }

  @Test
  void aRevokedOrDeletedNodeIsRefusedFromThenOnEvenAfterARestartAndJoinsAgainWithANewToken() throws Exception {
    String revoked = TestNames.unique("revoked");
    String deleted = TestNames.unique("deleted");
    try (PctlUp up = PctlUp.start();
        KubernetesClient admin = KubeClients.fromKubeconfig(up.kubeconfig());
        NodeIdentity r = join(up, revoked, joinToken(up), Duration.ofHours(1));
        NodeIdentity d = join(up, deleted, joinToken(up), Duration.ofHours(1))) {
      registers(r, revoked);
      registers(d, deleted);
      Path revokedPki = Files.list(dir).filter(p -> p.getFileName().toString().startsWith(revoked)).findFirst().orElseThrow();
      CompletableFuture<Integer> watch = watchAs(up, revokedPki, revoked);
      assertThat(watch).isNotDone();

      PctlRun revoke = PctlRun.run(up.kubeconfig(), "node", "revoke", revoked);
      assertThat(revoke.code()).as(revoke.err()).isZero();
      assertThat(revoke.out()).contains("node/" + revoked + " revoked");
      unauthorized(() -> r.client().resources(Node.class).withName(revoked).get());
      assertThat(watch.get(20, TimeUnit.SECONDS)).as("its open watch was ended").isEqualTo(200);
      PctlRun again = PctlRun.run(up.kubeconfig(), "node", "revoke", revoked);
      assertThat(again.code()).isEqualTo(1);
      assertThat(again.err()).contains("holds no certificate");

      assertThat(admin.resources(Node.class).withName(deleted).delete()).isNotEmpty();
      unauthorized(() -> d.client().resources(Node.class).list());

      up.kill9();
      up.launch();
      unauthorized(() -> r.client().resources(Node.class).withName(revoked).get());
      unauthorized(() -> d.client().resources(Node.class).list());

      // the deleted node's name is free: a new token joins it again, with a certificate that works
      try (NodeIdentity d2 = join(up, deleted, joinToken(up), Duration.ofHours(1))) {
        registers(d2, deleted);
        assertThat(d2.client().resources(Node.class).withName(deleted).get()).isNotNull();
        unauthorized(() -> d.client().resources(Node.class).list());
      }
      // the revoked one's Node is still there: it is deleted before the name is joined again
      String token = joinToken(up);
      assertThatThrownBy(() -> join(up, revoked, token, Duration.ofHours(1)))
          .isInstanceOfSatisfying(KubernetesClientException.class, e -> assertThat(e.getMessage()).contains("exists already"));
      admin.resources(Node.class).withName(revoked).delete();
      try (NodeIdentity r2 = join(up, revoked, token, Duration.ofHours(1))) {
        assertThat(r2.client().resources(Node.class).list().getItems()).isNotNull();
        unauthorized(() -> r.client().resources(Node.class).withName(revoked).get());
      }
    }
  }
}
