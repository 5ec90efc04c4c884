package dev.procurator.apiserver.rest;

import static org.assertj.core.api.Assertions.assertThat;

import com.sun.net.httpserver.HttpsConfigurator;
import com.sun.net.httpserver.HttpsExchange;
import com.sun.net.httpserver.HttpsParameters;
import com.sun.net.httpserver.HttpsServer;
import dev.procurator.api.v1alpha1.Node;
import dev.procurator.api.v1alpha1.NodeSpec;
import dev.procurator.apiserver.auth.Pki;
import dev.procurator.apiserver.testing.TestApiServer;
import dev.procurator.apiserver.testing.TestNames;
import dev.procurator.apiserver.testing.TestTls;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CopyOnWriteArrayList;
import javax.net.ssl.SSLContext;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * The API server's {@code vms/log} proxy against a real server and a fake agent: a listener that a
 * node registers as its own {@code spec.agentEndpoint} and that records what reaches it. The
 * caller's token never arrives there (the API server presents its own certificate); an {@code
 * http://} endpoint is refused without being called; and an agent must present the certificate of
 * the VM's node from the cluster CA, not another node's, one of another CA, nor one of the node's
 * since it was revoked.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class LogProxyIT {
  private TestApiServer api;

  /** What reached a fake agent: the Authorization header (or "-") and the client certificate's subject (or "-"). */
  record Seen(String authorization, String clientSubject) {}

  @BeforeAll
  void start() throws Exception {
    api = TestApiServer.embedded();
  }

  @AfterAll
  void stop() {
    api.close();
  }

  /** A node {@code node} that sets its own agent endpoint to {@code endpoint}, with VM {@code vm} bound to it. */
  private void nodeWithVm(String node, String vm, String endpoint) throws Exception {
    try (KubernetesClient n = api.nodeClient(node)) {
      Node self = new Node();
      self.setMetadata(new ObjectMetaBuilder().withName(node).build());
      self.setSpec(new NodeSpec(false, endpoint));
      n.resources(Node.class).resource(self).create();
    }
    var r = api.request("POST", "/apis/procurator.dev/v1alpha1/namespaces/default/vms", "application/json", String.format(Locale.ROOT,
        "{\"apiVersion\":\"procurator.dev/v1alpha1\",\"kind\":\"VM\",\"metadata\":{\"name\":\"%s\"},"
            + "\"spec\":{\"cpu\":1,\"memory\":\"128Mi\",\"boot\":{\"kernel\":\"hello/vmlinux\"},\"nodeName\":\"%s\"}}", vm, node));
    assertThat(r.statusCode()).as(r.body()).isEqualTo(201);
  }

  private HttpResponse<String> readLog(String vm) throws Exception {
    return api.request("GET", "/apis/procurator.dev/v1alpha1/namespaces/default/vms/" + vm + "/log", null, null);
  }

  /** A fake agent serving {@code certPem} over TLS (or plain HTTP when {@code ssl} is null) that answers every request with a console line. */
  private static com.sun.net.httpserver.HttpServer fakeAgent(SSLContext ssl, List<Seen> seen) throws Exception {
    com.sun.net.httpserver.HttpServer server;
    if (ssl == null) {
      server = com.sun.net.httpserver.HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
    } else {
      HttpsServer https = HttpsServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
      https.setHttpsConfigurator(new HttpsConfigurator(ssl) {
        @Override
        public void configure(HttpsParameters params) {
          var p = ssl.getDefaultSSLParameters();
          p.setWantClientAuth(true);
          params.setSSLParameters(p);
        }
      });
      server = https;
    }
    server.createContext("/", ex -> {
      String subject = "-";
      if (ex instanceof HttpsExchange hx) {
        try {
          subject = ((X509Certificate) hx.getSSLSession().getPeerCertificates()[0]).getSubjectX500Principal().getName();
        } catch (javax.net.ssl.SSLPeerUnverifiedException e) {
          subject = "-";
        }
      }
      String auth = ex.getRequestHeaders().getFirst("Authorization");
      seen.add(new Seen(auth == null ? "-" : auth, subject));
      byte[] body = "PROCURATOR-READY\n".getBytes(StandardCharsets.UTF_8);
      ex.sendResponseHeaders(200, body.length);
      ex.getResponseBody().write(body);
      ex.close();
    });
    server.start();
    return server;
  }

  private String caPem() throws Exception {
    return api.pki().caPem();
  }

  @Test
  void theCallersTokenNeverReachesTheAgentWhichSeesTheApiServersCertificate() throws Exception {
    String node = TestNames.unique("node");
    String vm = TestNames.unique("vm");
    Pki.ClientCertificate own = api.nodeCertificate(node);
    List<Seen> seen = new CopyOnWriteArrayList<>();
    var agent = fakeAgent(TestTls.withClientCertificate(caPem(), own.certPem(), own.keyPem()), seen);
    try {
      nodeWithVm(node, vm, "https://127.0.0.1:" + agent.getAddress().getPort());
      HttpResponse<String> r = readLog(vm);
      assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
      assertThat(r.body()).contains("PROCURATOR-READY");
      assertThat(seen).hasSize(1);
      assertThat(seen.getFirst().authorization()).isEqualTo("-");
      assertThat(seen.getFirst().clientSubject()).isEqualTo("CN=" + Pki.API_SERVER_CLIENT);

      // a caller without get on vms/log is refused by the API server itself: the agent is not asked
      Pki.ClientCertificate alice = api.pki().issueClient(TestNames.unique("alice"), List.of(), Duration.ofHours(1));
      HttpClient asAlice = HttpClient.newBuilder().sslContext(TestTls.withClientCertificate(caPem(), alice.certPem(), alice.keyPem())).build();
      HttpResponse<String> denied = asAlice.send(HttpRequest.newBuilder(URI.create(api.url()
          + "/apis/procurator.dev/v1alpha1/namespaces/default/vms/" + vm + "/log")).build(), HttpResponse.BodyHandlers.ofString());
      assertThat(denied.statusCode()).as(denied.body()).isEqualTo(403);
      assertThat(denied.body()).contains("vms/log");
      assertThat(seen).hasSize(1);
    } finally {
      agent.stop(0);
    }
  }

  @Test
  void aPlainHttpEndpointIsRefusedAndNeverCalled() throws Exception {
    String node = TestNames.unique("node");
    String vm = TestNames.unique("vm");
    List<Seen> seen = new CopyOnWriteArrayList<>();
    var agent = fakeAgent(null, seen);
    try {
      String endpoint = "http://127.0.0.1:" + agent.getAddress().getPort();
      nodeWithVm(node, vm, endpoint);
      HttpResponse<String> r = readLog(vm);
      assertThat(seen).as("what reached the plain-HTTP agent").isEmpty();
      assertThat(r.statusCode()).as(r.body()).isEqualTo(503);
      assertThat(r.body()).contains("\"kind\":\"Status\"", node, endpoint, "is not HTTPS", "only over TLS");
    } finally {
      agent.stop(0);
    }
  }

  @Test
  void anAgentWithAnotherNodesCertificateIsRefused() throws Exception {
    String node = TestNames.unique("node");
    String other = TestNames.unique("other");
    String vm = TestNames.unique("vm");
    Pki.ClientCertificate othersCert = api.nodeCertificate(other);
    List<Seen> seen = new CopyOnWriteArrayList<>();
    var agent = fakeAgent(TestTls.withClientCertificate(caPem(), othersCert.certPem(), othersCert.keyPem()), seen);
    try {
      nodeWithVm(node, vm, "https://127.0.0.1:" + agent.getAddress().getPort());
      HttpResponse<String> r = readLog(vm);
      assertThat(r.statusCode()).as(r.body()).isEqualTo(503);
      assertThat(r.body()).contains(node, "not node " + node + "'s");
      assertThat(seen).isEmpty();
    } finally {
      agent.stop(0);
    }
  }

  @Test
  void anAgentWithARevokedCertificateOfItsNodeIsRefused() throws Exception {
    String node = TestNames.unique("node");
    String vm = TestNames.unique("vm");
    Pki.ClientCertificate old = api.nodeCertificate(node);
    List<Seen> seen = new CopyOnWriteArrayList<>();
    var agent = fakeAgent(TestTls.withClientCertificate(caPem(), old.certPem(), old.keyPem()), seen);
    try {
      nodeWithVm(node, vm, "https://127.0.0.1:" + agent.getAddress().getPort());
      assertThat(readLog(vm).statusCode()).isEqualTo(200);
      // the node is revoked (what 'pctl node revoke' does): the certificate still names it and the CA signed it
      var revoked = api.request("DELETE", "/apis/procurator.dev/v1alpha1/namespaces/" + dev.procurator.apiserver.auth.NodeIdentities.NAMESPACE
          + "/secrets/" + dev.procurator.apiserver.auth.NodeIdentities.PREFIX + node, null, null);
      assertThat(revoked.statusCode()).as(revoked.body()).isEqualTo(200);
      HttpResponse<String> r = readLog(vm);
      assertThat(seen).as("what reached the revoked agent").hasSize(1);
      assertThat(r.statusCode()).as(r.body()).isEqualTo(503);
      assertThat(r.body()).contains(node, "revoked");
    } finally {
      agent.stop(0);
    }
  }

  @Test
  void anAgentWithACertificateOfAnotherCaIsRefused() throws Exception {
    String node = TestNames.unique("node");
    String vm = TestNames.unique("vm");
    Path dir = Files.createTempDirectory("other-ca");
    List<Seen> seen = new CopyOnWriteArrayList<>();
    com.sun.net.httpserver.HttpServer agent = null;
    try {
      // a certificate that names the right node, from a CA of the node's own making
      Pki mine = Pki.ensure(dir, List.of("127.0.0.1"));
      Pki.ClientCertificate forged = mine.issueClient("system:node:" + node, List.of("system:nodes"), Duration.ofHours(1));
      // (it takes any client: the API server's certificate is not what refuses it)
      agent = fakeAgent(TestTls.withClientCertificate(caPem(), forged.certPem(), forged.keyPem()), seen);
      nodeWithVm(node, vm, "https://127.0.0.1:" + agent.getAddress().getPort());
      HttpResponse<String> r = readLog(vm);
      assertThat(r.statusCode()).as(r.body()).isEqualTo(503);
      assertThat(r.body()).contains(node, "cannot be reached");
      assertThat(seen).isEmpty();
    } finally {
      if (agent != null) {
        agent.stop(0);
      }
      try (var files = Files.walk(dir)) {
        files.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
      }
    }
  }
}
