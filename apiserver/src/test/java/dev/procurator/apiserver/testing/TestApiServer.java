package dev.procurator.apiserver.testing;

import dev.procurator.apiserver.ApiServer;
import dev.procurator.apiserver.ApiServerConfig;
import dev.procurator.apiserver.auth.Pki;
import io.fabric8.kubernetes.client.Config;
import io.fabric8.kubernetes.client.ConfigBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.Base64;
import java.util.List;
import java.util.function.UnaryOperator;
import java.util.Locale;

/**
 * A real API server on a free loopback port with TLS and a token, on the embedded store in a temp
 * dir or on the given etcd; with a fabric8 client, a raw HTTP client and a kubeconfig for kubectl.
 */
public final class TestApiServer implements AutoCloseable {
  public static final String TOKEN = "test-admin-token";

  private final Path dir;
  private final ApiServer server;
  private final Pki pki;
  private final HttpClient http;
  private KubernetesClient client;

  private TestApiServer(Path dir, ApiServer server, Pki pki) throws Exception {
    this.dir = dir;
    this.server = server;
    this.pki = pki;
    this.http = HttpClient.newBuilder().sslContext(TestTls.trusting(pki.caCert())).connectTimeout(Duration.ofSeconds(5)).build();
  }

  public static TestApiServer embedded() throws Exception {
    return start(List.of(), c -> c);
  }

  public static TestApiServer start(List<String> etcdEndpoints, UnaryOperator<ApiServerConfig> tweak) throws Exception {
    Path dir = Files.createTempDirectory("apiserver-test");
    Pki pki = Pki.ensure(dir.resolve("pki"), List.of("127.0.0.1"));
    ApiServerConfig config = ApiServerConfig.embedded("127.0.0.1", 0, dir.resolve("store"), TOKEN)
        .withTls(pki.serverCert(), pki.serverKey())
        .withAccess(new ApiServerConfig.Access(null, pki.caCert(), true, dir.resolve("pki")));
    if (!etcdEndpoints.isEmpty()) {
      config = config.withEtcd(etcdEndpoints);
    }
    ApiServer server = new ApiServer(tweak.apply(config), Clock.systemUTC()).start();
    return new TestApiServer(dir, server, pki);
  }

  /** The server's folder: its PKI and, for the embedded store, the store and its encryption key. */
  public Path dir() {
    return dir;
  }

  public ApiServer server() {
    return server;
  }

  public String url() {
    return server.url();
  }

  public Config config() throws IOException {
    return new ConfigBuilder(Config.empty())
        .withMasterUrl(url())
        .withOauthToken(TOKEN)
        .withCaCertData(Base64.getEncoder().encodeToString(pki.caPem().getBytes(StandardCharsets.UTF_8)))
        .withNamespace("default")
        .withRequestTimeout(30_000)
        .build();
  }

  /** A client authenticated by a client certificate from this server's CA, as {@code user} in {@code groups}. */
  public KubernetesClient clientAs(String user, List<String> groups) throws IOException {
    return clientWith(pki.issueClient(user, groups, Duration.ofHours(1)));
  }

  /** A client authenticated by {@code cert}. */
  public KubernetesClient clientWith(Pki.ClientCertificate cert) throws IOException {
    Config c = new ConfigBuilder(Config.empty())
        .withMasterUrl(url())
        .withCaCertData(Base64.getEncoder().encodeToString(pki.caPem().getBytes(StandardCharsets.UTF_8)))
        .withClientCertData(Base64.getEncoder().encodeToString(cert.certPem().getBytes(StandardCharsets.UTF_8)))
        .withClientKeyData(Base64.getEncoder().encodeToString(cert.keyPem().getBytes(StandardCharsets.UTF_8)))
        .withClientKeyAlgo("EC")
        .withNamespace("default")
        .withRequestTimeout(30_000)
        .build();
    return new KubernetesClientBuilder().withConfig(c).build();
  }

  /** The client of node {@code name}: {@code system:node:NAME} in {@code system:nodes}, with a certificate from {@link #nodeCertificate}. */
  public KubernetesClient nodeClient(String name) throws IOException {
    return clientWith(nodeCertificate(name));
  }

  /**
   * A certificate and key of node {@code name}, signed by the server as a cluster admin asks for
   * one (a CertificateSigningRequest), so that it names the node's identity as a joined node's does.
   */
  public Pki.ClientCertificate nodeCertificate(String name) throws IOException {
    try {
      java.security.KeyPairGenerator g = java.security.KeyPairGenerator.getInstance("EC");
      g.initialize(new java.security.spec.ECGenParameterSpec("secp256r1"));
      java.security.KeyPair key = g.generateKeyPair();
      var subject = new org.bouncycastle.asn1.x500.X500NameBuilder(org.bouncycastle.asn1.x500.style.BCStyle.INSTANCE)
          .addRDN(org.bouncycastle.asn1.x500.style.BCStyle.O, "system:nodes")
          .addRDN(org.bouncycastle.asn1.x500.style.BCStyle.CN, "system:node:" + name).build();
      var csr = new org.bouncycastle.pkcs.jcajce.JcaPKCS10CertificationRequestBuilder(subject, key.getPublic())
          .build(new org.bouncycastle.operator.jcajce.JcaContentSignerBuilder("SHA256withECDSA").build(key.getPrivate()));
      String csrPem = pem(csr);
      var body = dev.procurator.apiserver.registry.Json.object();
      body.put("apiVersion", "certificates.k8s.io/v1").put("kind", "CertificateSigningRequest");
      body.putObject("metadata").put("name", TestNames.unique("csr"));
      var spec = body.putObject("spec");
      spec.put("signerName", "kubernetes.io/kube-apiserver-client-kubelet")
          .put("request", Base64.getEncoder().encodeToString(csrPem.getBytes(StandardCharsets.UTF_8)));
      spec.putArray("usages").add("client auth");
      HttpResponse<String> r = request("POST", "/apis/certificates.k8s.io/v1/certificatesigningrequests", "application/json", body.toString());
      if (r.statusCode() != 201) {
        throw new IOException("the server did not sign a certificate for node " + name + ": " + r.statusCode() + " " + r.body());
      }
      String certPem = new String(Base64.getDecoder().decode(dev.procurator.apiserver.registry.Json.MAPPER.readTree(r.body())
          .path("status").path("certificate").asText()), StandardCharsets.UTF_8);
      var cert = (java.security.cert.X509Certificate) java.security.cert.CertificateFactory.getInstance("X.509")
          .generateCertificate(new java.io.ByteArrayInputStream(certPem.getBytes(StandardCharsets.UTF_8)));
      java.io.StringWriter keyPem = new java.io.StringWriter();
      try (var w = new org.bouncycastle.openssl.jcajce.JcaPEMWriter(keyPem)) {
        w.writeObject(new org.bouncycastle.openssl.jcajce.JcaPKCS8Generator(key.getPrivate(), null));
      }
      return new Pki.ClientCertificate(certPem, keyPem.toString(), cert.getNotAfter().toInstant());
    } catch (IOException e) {
      throw e;
    } catch (Exception e) {
      throw new IOException("cannot make a certificate for node " + name + ": " + e.getMessage(), e);
    }
  }

  private static String pem(Object o) throws IOException {
    java.io.StringWriter out = new java.io.StringWriter();
    try (var w = new org.bouncycastle.openssl.jcajce.JcaPEMWriter(out)) {
      w.writeObject(o);
    }
    return out.toString();
  }

  public Pki pki() {
    return pki;
  }

  public synchronized KubernetesClient client() throws IOException {
    if (client == null) {
      client = new KubernetesClientBuilder().withConfig(config()).build();
    }
    return client;
  }

  /** What a kubectl run printed (stdout and stderr together) and how it exited. */
  public record Kubectl(int exit, String output) {}

  /** Runs kubectl against this server; it must end within a minute. Input, if any, is given on stdin. */
  public Kubectl kubectl(String stdin, String... args) throws Exception {
    return kubectlWith(kubeconfig(), stdin, args);
  }

  private Kubectl run(List<String> all, String stdin, String what) throws Exception {
    Path out = Files.createTempFile(dir, "kubectl", ".out");
    ProcessBuilder pb = new ProcessBuilder(all).redirectErrorStream(true).redirectOutput(out.toFile());
    Path in = null;
    if (stdin != null) {
      in = Files.createTempFile(dir, "kubectl", ".in");
      Files.writeString(in, stdin);
      pb.redirectInput(in.toFile());
    }
    Process p = pb.start();
    try {
      if (!p.waitFor(60, java.util.concurrent.TimeUnit.SECONDS)) {
        p.destroyForcibly().waitFor();
        throw new IllegalStateException(what + " did not end: " + Files.readString(out));
      }
      return new Kubectl(p.exitValue(), Files.readString(out, StandardCharsets.UTF_8));
    } finally {
      Files.deleteIfExists(out);
      if (in != null) {
        Files.deleteIfExists(in);
      }
    }
  }

  /** Runs kubectl with {@code kubeconfig}; it must end within a minute. */
  public Kubectl kubectlWith(Path kubeconfig, String stdin, String... args) throws Exception {
    List<String> all = new java.util.ArrayList<>(List.of("kubectl", "--kubeconfig", kubeconfig.toString()));
    all.addAll(List.of(args));
    return run(all, stdin, String.join(" ", args));
  }

  /** A kubeconfig for kubectl authenticating with {@code token}. */
  public Path kubeconfig(String name, String token) throws IOException {
    Path file = dir.resolve("kubeconfig-" + name);
    Files.writeString(file, kubeconfigText(token));
    return file;
  }

  /** A kubeconfig for kubectl. */
  public Path kubeconfig() throws IOException {
    Path file = dir.resolve("kubeconfig");
    Files.writeString(file, kubeconfigText(TOKEN));
    return file;
  }

  private String kubeconfigText(String token) {
    return String.format(Locale.ROOT, """
        apiVersion: v1
        kind: Config
        clusters:
        - name: test
          cluster:
            server: %s
            certificate-authority: %s
        users:
        - name: user
          user:
            token: %s
        contexts:
        - name: test
          context: {cluster: test, user: user, namespace: default}
        current-context: test
        """, url(), pki.caCert(), token);
  }

  public HttpResponse<String> request(String method, String path, String contentType, String body) throws Exception {
    return request(method, path, contentType, body, TOKEN);
  }

  public HttpResponse<String> request(String method, String path, String contentType, String body, String token) throws Exception {
    return request(method, path, contentType, body, token, java.util.Map.of());
  }

  /** A request with extra headers; {@code token} null sends none. */
  public HttpResponse<String> request(String method, String path, String contentType, String body, String token,
      java.util.Map<String, String> headers) throws Exception {
    HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(url() + path)).timeout(Duration.ofSeconds(30))
        .method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body));
    headers.forEach(b::header);
    if (token != null) {
      b.header("Authorization", "Bearer " + token);
    }
    if (contentType != null) {
      b.header("Content-Type", contentType);
    }
    return http.send(b.build(), HttpResponse.BodyHandlers.ofString());
  }

  public HttpClient http() {
    return http;
  }

  @Override
  public void close() {
    if (client != null) {
      client.close();
    }
    server.close();
    EtcdProcess.deleteTree(dir);
  }
}
