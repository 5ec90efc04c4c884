package dev.procurator.pctl;

import dev.procurator.api.files.PrivateFiles;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.api.model.certificates.v1.CertificateSigningRequest;
import io.fabric8.kubernetes.api.model.certificates.v1.CertificateSigningRequestBuilder;
import io.fabric8.kubernetes.client.Config;
import io.fabric8.kubernetes.client.ConfigBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.StringReader;
import java.io.StringWriter;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.KeyStore;
import java.security.Principal;
import java.security.PrivateKey;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.KeyManager;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.TrustManager;
import javax.net.ssl.TrustManagerFactory;
import javax.net.ssl.X509ExtendedKeyManager;
import org.bouncycastle.asn1.x500.X500NameBuilder;
import org.bouncycastle.asn1.x500.style.BCStyle;
import org.bouncycastle.openssl.PEMParser;
import org.bouncycastle.openssl.jcajce.JcaPEMKeyConverter;
import org.bouncycastle.openssl.jcajce.JcaPEMWriter;
import org.bouncycastle.openssl.jcajce.JcaPKCS8Generator;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;
import org.bouncycastle.pkcs.jcajce.JcaPKCS10CertificationRequestBuilder;
import org.bouncycastle.asn1.pkcs.PrivateKeyInfo;

/**
 * A node's own identity, {@code system:node:NAME} in {@code system:nodes}, as a client certificate
 * from the cluster CA, kept in {@code DIR/node.crt} and {@code DIR/node.key} (0600): got once with
 * a one-time join token (a CertificateSigningRequest the control plane signs when the name is
 * free), then renewed by the node itself, with a new key, when 70% of its lifetime has passed.
 * The client it gives presents whichever certificate is current, so a renewal needs no restart.
 * Once the node is revoked (its Node deleted, or {@code pctl node revoke}), its certificates are
 * refused and it must join again.
 */
final class NodeIdentity implements AutoCloseable {
  static final String SIGNER = "kubernetes.io/kube-apiserver-client-kubelet";
  private static final org.slf4j.Logger log = org.slf4j.LoggerFactory.getLogger(NodeIdentity.class);

  record Current(PrivateKey key, X509Certificate cert) {}

  private final String server;
  private final String caPem;
  private final String node;
  private final Path dir;
  private final Duration ttl;
  private final Clock clock;
  private volatile Current current;
  private final KubernetesClient client;
  private final ScheduledExecutorService renewer = Executors.newSingleThreadScheduledExecutor(
      Thread.ofPlatform().name("node-cert-renewal").daemon(true).factory());

  private NodeIdentity(String server, String caPem, String node, Path dir, Duration ttl, Clock clock, Current first) throws Exception {
    this.server = server;
    this.caPem = caPem;
    this.node = node;
    this.dir = dir;
    this.ttl = ttl;
    this.clock = clock;
    this.current = first;
    this.client = client(server, caPem, new KeyManager[] {new CurrentKeyManager()});
  }

  private static void privateDir(Path dir) throws IOException {
    PrivateFiles.privateDirectory(dir);
  }

  /** Whether {@code dir} holds a certificate of {@code node} that is still valid. */
  static boolean holds(Path dir, String node, Clock clock) {
    Current kept = read(dir);
    return kept != null && kept.cert().getNotAfter().toInstant().isAfter(clock.instant())
        && kept.cert().getSubjectX500Principal().getName().contains("CN=system:node:" + node);
  }

  /**
   * Asks for a new certificate of {@code node} as a cluster admin ({@code admin}'s credential) and
   * keeps it in {@code dir}: how the host that runs the control plane gives its own agent one.
   */
  static void issue(KubernetesClient admin, String node, Path dir, Duration ttl) throws Exception {
    privateDir(dir);
    save(dir, request(admin, node, ttl, "issue"));
  }

  /** The identity kept in {@code dir} if its certificate is still valid, else one got with {@code joinToken}. */
  static NodeIdentity obtain(String server, String caPem, String node, Path dir, String joinToken, Duration ttl, Clock clock) throws Exception {
    privateDir(dir);
    if (holds(dir, node, clock)) {
      return new NodeIdentity(server, caPem, node, dir, ttl, clock, read(dir)).start();
    }
    if (joinToken == null) {
      throw new Errors.UserError("node " + node + " has no valid certificate in " + dir + ": join with --join TOKEN ('pctl token create --join')");
    }
    Config c = new ConfigBuilder(Config.empty()).withMasterUrl(server).withCaCertData(b64(caPem)).withOauthToken(joinToken)
        .withRequestTimeout(30_000).build();
    Current joined;
    try (KubernetesClient bootstrap = new KubernetesClientBuilder().withConfig(c).build()) {
      joined = request(bootstrap, node, ttl, "join");
    }
    save(dir, joined);
    log.info("node {} joined: certificate valid until {}", node, joined.cert().getNotAfter().toInstant());
    return new NodeIdentity(server, caPem, node, dir, ttl, clock, joined).start();
  }

  private NodeIdentity start() {
    schedule();
    return this;
  }

  private volatile java.util.function.BiConsumer<String, String> renewed = (cert, key) -> { };

  /** Told the new certificate and key (PEM) after each renewal. */
  void onRenewal(java.util.function.BiConsumer<String, String> listener) {
    this.renewed = listener;
  }

  /** The current certificate as the agent's serving certificate. */
  dev.procurator.nodeagent.http.AgentHttp.Tls servingTls() throws IOException {
    return new dev.procurator.nodeagent.http.AgentHttp.Tls(Files.readString(dir.resolve("node.crt")), Files.readString(dir.resolve("node.key")), caPem);
  }

  KubernetesClient client() {
    return client;
  }

  Instant notAfter() {
    return current.cert().getNotAfter().toInstant();
  }

  private void schedule() {
    // at 70% of the certificate's life: what was asked, or less when the server signs shorter ones
    Duration life = Duration.between(current.cert().getNotBefore().toInstant(), notAfter());
    if (life.compareTo(ttl) > 0) {
      life = ttl;
    }
    Instant due = notAfter().minus(Duration.ofMillis((long) (life.toMillis() * 0.3)));
    long delay = Math.max(0, Duration.between(clock.instant(), due).toMillis());
    renewer.schedule(this::renew, delay, TimeUnit.MILLISECONDS);
  }

  /** Asks for a certificate with a new key as this node; on failure tries again soon, while the old one lasts. */
  private void renew() {
    try {
      Current next = request(client, node, ttl, "renew");
      save(dir, next);
      current = next;
      renewed.accept(Files.readString(dir.resolve("node.crt")), Files.readString(dir.resolve("node.key")));
      log.info("node {} renewed its certificate: valid until {}", node, notAfter());
      schedule();
    } catch (Exception e) {
      log.warn("node {} could not renew its certificate ({}); trying again in 5 s", node, e.toString());
      renewer.schedule(this::renew, 5, TimeUnit.SECONDS);
    }
  }

  /** Creates a CSR for a fresh key as {@code system:node:NODE} and returns the key with the signed certificate. */
  static Current request(KubernetesClient client, String node, Duration ttl, String why) throws Exception {
    KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
    g.initialize(new ECGenParameterSpec("secp256r1"));
    KeyPair key = g.generateKeyPair();
    var subject = new X500NameBuilder(BCStyle.INSTANCE).addRDN(BCStyle.O, "system:nodes").addRDN(BCStyle.CN, "system:node:" + node).build();
    var csr = new JcaPKCS10CertificationRequestBuilder(subject, key.getPublic())
        .build(new JcaContentSignerBuilder("SHA256withECDSA").build(key.getPrivate()));
    StringWriter pem = new StringWriter();
    try (JcaPEMWriter w = new JcaPEMWriter(pem)) {
      w.writeObject(csr);
    }
    String name = "node-" + node + "-" + why + "-" + Long.toString(System.currentTimeMillis(), 36);
    CertificateSigningRequest created = client.certificates().v1().certificateSigningRequests().resource(new CertificateSigningRequestBuilder()
        .withMetadata(new ObjectMetaBuilder().withName(name).build())
        .withNewSpec().withSignerName(SIGNER).withRequest(b64(pem.toString())).withUsages(List.of("client auth"))
        .withExpirationSeconds((int) ttl.toSeconds()).endSpec().build()).create();
    String cert = created.getStatus() == null ? null : created.getStatus().getCertificate();
    if (cert == null || cert.isEmpty()) {
      throw new IllegalStateException("the CertificateSigningRequest " + name + " was not signed");
    }
    return new Current(key.getPrivate(), parseCert(new String(Base64.getDecoder().decode(cert), StandardCharsets.UTF_8)));
  }

  private static void save(Path dir, Current c) throws IOException {
    StringWriter key = new StringWriter();
    try (JcaPEMWriter w = new JcaPEMWriter(key)) {
      w.writeObject(new JcaPKCS8Generator(c.key(), null));
    }
    StringWriter cert = new StringWriter();
    try (JcaPEMWriter w = new JcaPEMWriter(cert)) {
      w.writeObject(c.cert());
    }
    PrivateFiles.write(dir.resolve("node.key"), key.toString());
    PrivateFiles.write(dir.resolve("node.crt"), cert.toString());
  }

  private static Current read(Path dir) {
    try {
      if (!Files.exists(dir.resolve("node.key")) || !Files.exists(dir.resolve("node.crt"))) {
        return null;
      }
      PrivateKey key;
      try (PEMParser p = new PEMParser(new StringReader(Files.readString(dir.resolve("node.key"))))) {
        key = new JcaPEMKeyConverter().getPrivateKey((PrivateKeyInfo) p.readObject());
      }
      return new Current(key, parseCert(Files.readString(dir.resolve("node.crt"))));
    } catch (Exception e) {
      log.warn("the node certificate in {} cannot be read ({}); joining again", dir, e.toString());
      return null;
    }
  }

  private static X509Certificate parseCert(String pem) throws Exception {
    return (X509Certificate) CertificateFactory.getInstance("X.509").generateCertificate(new ByteArrayInputStream(pem.getBytes(StandardCharsets.UTF_8)));
  }

  private static KubernetesClient client(String server, String caPem, KeyManager[] keys) throws Exception {
    KeyStore trust = KeyStore.getInstance(KeyStore.getDefaultType());
    trust.load(null, null);
    trust.setCertificateEntry("ca", parseCert(caPem));
    TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
    tmf.init(trust);
    TrustManager[] trusts = tmf.getTrustManagers();
    Config c = new ConfigBuilder(Config.empty()).withMasterUrl(server).withCaCertData(b64(caPem)).withRequestTimeout(30_000).build();
    return new KubernetesClientBuilder().withConfig(c).withHttpClientBuilderConsumer(b -> b.sslContext(keys, trusts)).build();
  }

  private static String b64(String s) {
    return Base64.getEncoder().encodeToString(s.getBytes(StandardCharsets.UTF_8));
  }

  /** Presents the current certificate on each new TLS handshake. */
  private final class CurrentKeyManager extends X509ExtendedKeyManager {
    private static final String ALIAS = "node";

    @Override
    public String[] getClientAliases(String keyType, Principal[] issuers) {
      return new String[] {ALIAS};
    }

    @Override
    public String chooseClientAlias(String[] keyType, Principal[] issuers, Socket socket) {
      return ALIAS;
    }

    @Override
    public String chooseEngineClientAlias(String[] keyType, Principal[] issuers, SSLEngine engine) {
      return ALIAS;
    }

    @Override
    public String[] getServerAliases(String keyType, Principal[] issuers) {
      return null;
    }

    @Override
    public String chooseServerAlias(String keyType, Principal[] issuers, Socket socket) {
      return null;
    }

    @Override
    public X509Certificate[] getCertificateChain(String alias) {
      return new X509Certificate[] {current.cert()};
    }

    @Override
    public PrivateKey getPrivateKey(String alias) {
      return current.key();
    }
  }

  @Override
  public void close() {
    renewer.shutdownNow();
    client.close();
  }
}
