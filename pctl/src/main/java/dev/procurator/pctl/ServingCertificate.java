package dev.procurator.pctl;

import dev.procurator.nodeagent.http.AgentHttp;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import java.io.IOException;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.BiConsumer;
import org.bouncycastle.openssl.jcajce.JcaPEMWriter;
import org.bouncycastle.openssl.jcajce.JcaPKCS8Generator;

/**
 * The serving certificate of an agent run with a kubeconfig rather than its own node identity:
 * a certificate of {@code system:node:NAME} from the cluster CA, asked for by a
 * CertificateSigningRequest with the kubeconfig's credential (a cluster admin's, or the node's own),
 * held in memory and asked for again, with a new key, at 70% of its lifetime. The API server
 * reaches agents only over TLS and checks that the agent's certificate is its node's, so without
 * one the VMs' consoles could not be read through it.
 */
final class ServingCertificate implements AutoCloseable {
  private static final org.slf4j.Logger log = org.slf4j.LoggerFactory.getLogger(ServingCertificate.class);

  private final KubernetesClient client;
  private final String node;
  private final String caPem;
  private final Duration ttl;
  private final Clock clock;
  private volatile NodeIdentity.Current current;
  private volatile BiConsumer<String, String> renewed = (cert, key) -> { };
  private final ScheduledExecutorService renewer = Executors.newSingleThreadScheduledExecutor(
      Thread.ofPlatform().name("serving-cert-renewal").daemon(true).factory());

  private ServingCertificate(KubernetesClient client, String node, String caPem, Duration ttl, Clock clock, NodeIdentity.Current first) {
    this.client = client;
    this.node = node;
    this.caPem = caPem;
    this.ttl = ttl;
    this.clock = clock;
    this.current = first;
  }

  /**
   * Asks for node {@code node}'s serving certificate with {@code client}'s credential. The cluster CA
   * (which the API server's own client certificate is checked against) is {@code caFile}, or else the
   * one the kubeconfig trusts the API server by.
   */
  static ServingCertificate obtain(KubernetesClient client, String node, Path caFile, Duration ttl, Clock clock) throws Exception {
    String caPem = caPem(client, caFile);
    NodeIdentity.Current first;
    try {
      first = NodeIdentity.request(client, node, ttl, "serve");
    } catch (KubernetesClientException e) {
      throw new Errors.UserError("the agent serves its logs over TLS with a certificate of node " + node
          + ", asked for with the kubeconfig's credential, and the API server refused it (" + e.getMessage()
          + "): use a cluster admin's kubeconfig, or join the node with --join");
    }
    ServingCertificate s = new ServingCertificate(client, node, caPem, ttl, clock, first);
    s.schedule();
    return s;
  }

  private static String caPem(KubernetesClient client, Path caFile) throws IOException {
    if (caFile != null) {
      return Files.readString(caFile);
    }
    var c = client.getConfiguration();
    if (c.getCaCertData() != null && !c.getCaCertData().isBlank()) {
      return new String(Base64.getMimeDecoder().decode(c.getCaCertData()), StandardCharsets.UTF_8);
    }
    if (c.getCaCertFile() != null && !c.getCaCertFile().isBlank()) {
      return Files.readString(Path.of(c.getCaCertFile()));
    }
    throw new Errors.UserError("the agent serves its logs over TLS with a certificate from the cluster CA, and the kubeconfig names no CA:"
        + " pass --ca-file CA.crt");
  }

  /** Told the new certificate and key (PEM) after each renewal. */
  void onRenewal(BiConsumer<String, String> listener) {
    this.renewed = listener;
  }

  AgentHttp.Tls tls() throws IOException {
    NodeIdentity.Current c = current;
    return new AgentHttp.Tls(certPem(c), keyPem(c), caPem);
  }

  private void schedule() {
    Instant notAfter = current.cert().getNotAfter().toInstant();
    Duration life = Duration.between(current.cert().getNotBefore().toInstant(), notAfter);
    if (life.compareTo(ttl) > 0) {
      life = ttl;
    }
    Instant due = notAfter.minus(Duration.ofMillis((long) (life.toMillis() * 0.3)));
    renewer.schedule(this::renew, Math.max(0, Duration.between(clock.instant(), due).toMillis()), TimeUnit.MILLISECONDS);
  }

  private void renew() {
    try {
      NodeIdentity.Current next = NodeIdentity.request(client, node, ttl, "serve");
      current = next;
      renewed.accept(certPem(next), keyPem(next));
      log.info("node {} renewed its serving certificate: valid until {}", node, next.cert().getNotAfter().toInstant());
      schedule();
    } catch (Exception e) {
      log.warn("node {} could not renew its serving certificate ({}); trying again in 5 s", node, e.toString());
      renewer.schedule(this::renew, 5, TimeUnit.SECONDS);
    }
  }

  private static String certPem(NodeIdentity.Current c) throws IOException {
    StringWriter out = new StringWriter();
    try (JcaPEMWriter w = new JcaPEMWriter(out)) {
      w.writeObject(c.cert());
    }
    return out.toString();
  }

  private static String keyPem(NodeIdentity.Current c) throws IOException {
    StringWriter out = new StringWriter();
    try (JcaPEMWriter w = new JcaPEMWriter(out)) {
      w.writeObject(new JcaPKCS8Generator(c.key(), null));
    }
    return out.toString();
  }

  @Override
  public void close() {
    renewer.shutdownNow();
  }
}
