package dev.procurator.apiserver.auth;

import dev.procurator.api.files.PrivateFiles;
import java.io.IOException;
import java.io.StringWriter;
import java.math.BigInteger;
import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.PrivateKey;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Date;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.ExtendedKeyUsage;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.cert.X509CertificateHolder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.openssl.PEMKeyPair;
import org.bouncycastle.openssl.PEMParser;
import org.bouncycastle.openssl.jcajce.JcaPEMKeyConverter;
import org.bouncycastle.openssl.jcajce.JcaPEMWriter;
import org.bouncycastle.openssl.jcajce.JcaPKCS8Generator;
import org.bouncycastle.asn1.pkcs.PrivateKeyInfo;
import org.bouncycastle.operator.ContentSigner;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;

/**
 * A private certificate authority for one installation: {@code ca.crt}/{@code ca.key} made once,
 * and a serving certificate for the API server signed by it, for the addresses it is reached at.
 * Clients trust {@code ca.crt} (pctl up writes it into the kubeconfig).
 */
public final class Pki {
  private final Path dir;

  private Pki(Path dir) {
    this.dir = dir;
  }

  /** The CA already made in {@code dir}, to sign with. */
  public static Pki load(Path dir) {
    if (!Files.exists(dir.resolve("ca.key")) || !Files.exists(dir.resolve("ca.crt"))) {
      throw new IllegalStateException("no CA in " + dir + " (ca.crt and ca.key)");
    }
    return new Pki(dir);
  }

  public Path caCert() {
    return dir.resolve("ca.crt");
  }

  public Path serverCert() {
    return dir.resolve("apiserver.crt");
  }

  public Path serverKey() {
    return dir.resolve("apiserver.key");
  }

  /** The CA certificate as PEM text. */
  public String caPem() throws IOException {
    return Files.readString(caCert());
  }

  /**
   * Makes (or reuses) the CA in {@code dir} and a serving certificate valid for {@code hosts}
   * plus localhost, 127.0.0.1 and ::1. A serving certificate missing one of the hosts is remade.
   */
  public static Pki ensure(Path dir, List<String> hosts) {
    try {
      PrivateFiles.privateDirectory(dir);
      Pki pki = new Pki(dir);
      Set<String> names = new LinkedHashSet<>(List.of("localhost", "127.0.0.1", "::1"));
      for (String h : hosts) {
        if (!h.isEmpty() && !h.equals("0.0.0.0") && !h.equals("::")) {
          names.add(h);
        }
      }
      Path caKey = dir.resolve("ca.key");
      if (!Files.exists(pki.caCert()) || !Files.exists(caKey)) {
        KeyPair ca = newKey();
        X509Certificate cert = sign(new X500Name("CN=procurator-ca"), new X500Name("CN=procurator-ca"), ca.getPublic(),
            ca.getPrivate(), true, List.of(), Duration.ofDays(3650));
        PrivateFiles.write(caKey, pem(ca.getPrivate()));
        PrivateFiles.write(pki.caCert(), pem(cert));
        Files.deleteIfExists(pki.serverCert());
      }
      Path namesFile = dir.resolve("apiserver.names");
      String wanted = String.join(",", names);
      if (!Files.exists(pki.serverCert()) || !Files.exists(namesFile) || !Files.readString(namesFile).equals(wanted)) {
        PrivateKey caPrivate = readKey(caKey);
        X509Certificate caCert = readCert(pki.caCert());
        KeyPair server = newKey();
        X509Certificate cert = sign(X500Name.getInstance(caCert.getSubjectX500Principal().getEncoded()),
            new X500Name("CN=procurator-apiserver"), server.getPublic(), caPrivate, false, new ArrayList<>(names),
            Duration.ofDays(825));
        PrivateFiles.write(pki.serverKey(), pem(server.getPrivate()));
        PrivateFiles.write(pki.serverCert(), pem(cert));
        PrivateFiles.write(namesFile, wanted);
      }
      return pki;
    } catch (Exception e) {
      throw new IllegalStateException("cannot set up TLS certificates in " + dir + ": " + e.getMessage(), e);
    }
  }

  /** The subject of the API server's own client certificate, which node agents accept for logs. */
  public static final String API_SERVER_CLIENT = "procurator-apiserver";

  /** A client certificate and its private key, PEM. */
  public record ClientCertificate(String certPem, String keyPem, Instant notAfter) {}

  /**
   * A client certificate signed by this CA for {@code user} (CN) in {@code groups} (O), as the API
   * server reads client certificates; valid for {@code validity}.
   */
  public ClientCertificate issueClient(String user, List<String> groups, Duration validity) {
    try {
      KeyPair key = newKey();
      X509Certificate cert = signClient(key.getPublic(), user, groups, validity);
      return new ClientCertificate(pem(cert), pem(key.getPrivate()), cert.getNotAfter().toInstant());
    } catch (Exception e) {
      throw new IllegalStateException("cannot issue a client certificate for " + user + ": " + e.getMessage(), e);
    }
  }

  /** Signs {@code key} as {@code user} in {@code groups}; returns the certificate as PEM. */
  public String signClientPem(java.security.PublicKey key, String user, List<String> groups, Duration validity) {
    return signClientPem(key, user, groups, validity, List.of());
  }

  /** Signs {@code key} as {@code user} in {@code groups}, naming {@code uris} as subject alternative names; returns PEM. */
  public String signClientPem(java.security.PublicKey key, String user, List<String> groups, Duration validity, List<String> uris) {
    try {
      return pem(signClient(key, user, groups, validity, uris));
    } catch (Exception e) {
      throw new IllegalStateException("cannot sign a client certificate for " + user + ": " + e.getMessage(), e);
    }
  }

  private X509Certificate signClient(java.security.PublicKey key, String user, List<String> groups, Duration validity) throws Exception {
    return signClient(key, user, groups, validity, List.of());
  }

  private X509Certificate signClient(java.security.PublicKey key, String user, List<String> groups, Duration validity, List<String> uris)
      throws Exception {
    PrivateKey caPrivate = readKey(dir.resolve("ca.key"));
    X509Certificate caCert = readCert(caCert());
    org.bouncycastle.asn1.x500.X500NameBuilder subject = new org.bouncycastle.asn1.x500.X500NameBuilder(org.bouncycastle.asn1.x500.style.BCStyle.INSTANCE);
    for (String g : groups) {
      subject.addRDN(org.bouncycastle.asn1.x500.style.BCStyle.O, g);
    }
    subject.addRDN(org.bouncycastle.asn1.x500.style.BCStyle.CN, user);
    Instant now = Instant.now();
    JcaX509v3CertificateBuilder b = new JcaX509v3CertificateBuilder(X500Name.getInstance(caCert.getSubjectX500Principal().getEncoded()),
        new BigInteger(128, new SecureRandom()), Date.from(now.minus(Duration.ofMinutes(5))), Date.from(now.plus(validity)), subject.build(), key);
    b.addExtension(Extension.basicConstraints, true, new BasicConstraints(false));
    b.addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.digitalSignature | KeyUsage.keyEncipherment));
    // a node's certificate also serves its agent's endpoint, which the API server checks by subject
    b.addExtension(Extension.extendedKeyUsage, false,
        new ExtendedKeyUsage(new KeyPurposeId[] {KeyPurposeId.id_kp_clientAuth, KeyPurposeId.id_kp_serverAuth}));
    if (!uris.isEmpty()) {
      b.addExtension(Extension.subjectAlternativeName, false,
          new GeneralNames(uris.stream().map(u -> new GeneralName(GeneralName.uniformResourceIdentifier, u)).toArray(GeneralName[]::new)));
    }
    ContentSigner s = new JcaContentSignerBuilder("SHA256withECDSA").build(caPrivate);
    return new JcaX509CertificateConverter().getCertificate(b.build(s));
  }

  private static KeyPair newKey() throws Exception {
    KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
    g.initialize(new ECGenParameterSpec("secp256r1"));
    return g.generateKeyPair();
  }

  private static X509Certificate sign(X500Name issuer, X500Name subject, java.security.PublicKey key,
      PrivateKey signer, boolean ca, List<String> names, Duration validity) throws Exception {
    Instant now = Instant.now();
    JcaX509v3CertificateBuilder b = new JcaX509v3CertificateBuilder(issuer, new BigInteger(128, new SecureRandom()),
        Date.from(now.minus(Duration.ofHours(1))), Date.from(now.plus(validity)), subject, key);
    b.addExtension(Extension.basicConstraints, true, new BasicConstraints(ca));
    if (ca) {
      b.addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.keyCertSign | KeyUsage.cRLSign | KeyUsage.digitalSignature));
    } else {
      b.addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.digitalSignature | KeyUsage.keyEncipherment));
      b.addExtension(Extension.extendedKeyUsage, false, new ExtendedKeyUsage(KeyPurposeId.id_kp_serverAuth));
      List<GeneralName> alt = new ArrayList<>();
      for (String n : names) {
        boolean ip = n.matches("[0-9.]+") || n.contains(":");
        alt.add(ip ? new GeneralName(GeneralName.iPAddress, InetAddress.getByName(n).getHostAddress())
            : new GeneralName(GeneralName.dNSName, n));
      }
      b.addExtension(Extension.subjectAlternativeName, false, new GeneralNames(alt.toArray(GeneralName[]::new)));
    }
    ContentSigner s = new JcaContentSignerBuilder("SHA256withECDSA").build(signer);
    X509CertificateHolder holder = b.build(s);
    return new JcaX509CertificateConverter().getCertificate(holder);
  }

  private static String pem(Object o) throws IOException {
    StringWriter w = new StringWriter();
    try (JcaPEMWriter p = new JcaPEMWriter(w)) {
      if (o instanceof PrivateKey key) {
        p.writeObject(new JcaPKCS8Generator(key, null));
      } else {
        p.writeObject(o);
      }
    }
    return w.toString();
  }

  private static PrivateKey readKey(Path p) throws IOException {
    try (PEMParser r = new PEMParser(Files.newBufferedReader(p))) {
      Object o = r.readObject();
      JcaPEMKeyConverter c = new JcaPEMKeyConverter();
      return o instanceof PEMKeyPair kp ? c.getKeyPair(kp).getPrivate() : c.getPrivateKey((PrivateKeyInfo) o);
    }
  }

  private static X509Certificate readCert(Path p) throws Exception {
    try (PEMParser r = new PEMParser(Files.newBufferedReader(p))) {
      return new JcaX509CertificateConverter().getCertificate((X509CertificateHolder) r.readObject());
    }
  }
}
