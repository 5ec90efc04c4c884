package dev.procurator.apiserver.testing;

import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.cert.CertificateFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;

/** SSLContexts that trust one PEM certificate authority, for test clients of a server 'pctl up' or the harness made. */
public final class TestTls {
  private TestTls() {}

  public static SSLContext trusting(Path caPem) throws Exception {
    return trusting(Files.readString(caPem));
  }

  public static SSLContext trusting(String caPem) throws Exception {
    SSLContext ssl = SSLContext.getInstance("TLS");
    ssl.init(null, trustManagers(caPem), null);
    return ssl;
  }

  /** An SSLContext that trusts {@code caPem} and presents a client certificate ({@code certPem}, EC key {@code keyPem} in PKCS#8). */
  public static SSLContext withClientCertificate(String caPem, String certPem, String keyPem) throws Exception {
    String b64 = keyPem.replaceAll("-----[A-Z ]+-----", "").replaceAll("\\s", "");
    java.security.PrivateKey key = java.security.KeyFactory.getInstance("EC")
        .generatePrivate(new java.security.spec.PKCS8EncodedKeySpec(java.util.Base64.getDecoder().decode(b64)));
    java.security.cert.Certificate cert = CertificateFactory.getInstance("X.509")
        .generateCertificate(new ByteArrayInputStream(certPem.getBytes(StandardCharsets.UTF_8)));
    KeyStore keys = KeyStore.getInstance("PKCS12");
    keys.load(null, null);
    keys.setKeyEntry("client", key, new char[0], new java.security.cert.Certificate[] {cert});
    javax.net.ssl.KeyManagerFactory kmf = javax.net.ssl.KeyManagerFactory.getInstance(javax.net.ssl.KeyManagerFactory.getDefaultAlgorithm());
    kmf.init(keys, new char[0]);
    SSLContext ssl = SSLContext.getInstance("TLS");
    ssl.init(kmf.getKeyManagers(), trustManagers(caPem), null);
    return ssl;
  }

  private static javax.net.ssl.TrustManager[] trustManagers(String caPem) throws Exception {
    KeyStore ks = KeyStore.getInstance(KeyStore.getDefaultType());
    ks.load(null, null);
    ks.setCertificateEntry("ca", CertificateFactory.getInstance("X.509")
        .generateCertificate(new ByteArrayInputStream(caPem.getBytes(StandardCharsets.UTF_8))));
    TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
    tmf.init(ks);
    return tmf.getTrustManagers();
  }
}
