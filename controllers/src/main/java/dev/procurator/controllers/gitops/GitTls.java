package dev.procurator.controllers.gitops;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.net.Proxy;
import java.net.URL;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import javax.net.ssl.TrustManager;
import javax.net.ssl.TrustManagerFactory;
import org.eclipse.jgit.transport.HttpTransport;
import org.eclipse.jgit.transport.Transport;
import org.eclipse.jgit.transport.http.HttpConnection;
import org.eclipse.jgit.transport.http.HttpConnectionFactory;

/**
 * HTTPS remotes whose certificate a private CA signed: a GitRepository's secret may carry the CA
 * ({@code ca.crt}, PEM), trusted for that remote's origin only. JGit's connections are made by one
 * factory for the process; this one wraps it and gives connections to such origins the CA's trust.
 * Other origins keep the JVM's trust store.
 */
final class GitTls {
  private GitTls() {}

  private static final Map<String, TrustManager[]> BY_ORIGIN = new ConcurrentHashMap<>();
  private static volatile boolean installed;

  /** Trust {@code caPem} for HTTPS connections to {@code url}'s origin (or forget it when null). */
  static void trust(String url, String caPem) throws GeneralSecurityException, IOException {
    install();
    String origin = origin(new URL(url));
    if (caPem == null) {
      BY_ORIGIN.remove(origin);
      return;
    }
    KeyStore store = KeyStore.getInstance(KeyStore.getDefaultType());
    store.load(null, null);
    int i = 0;
    for (Certificate c : CertificateFactory.getInstance("X.509")
        .generateCertificates(new ByteArrayInputStream(caPem.getBytes(StandardCharsets.UTF_8)))) {
      store.setCertificateEntry("ca-" + i++, c);
    }
    if (i == 0) {
      throw new GeneralSecurityException("ca.crt holds no PEM certificate");
    }
    TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
    tmf.init(store);
    BY_ORIGIN.put(origin, tmf.getTrustManagers());
  }

  private static synchronized void install() {
    if (installed) {
      return;
    }
    // Transport's initializer needs HttpTransport's, and HttpTransport's needs its superclass
    // Transport's: a thread touching HttpTransport first while another's first fetch initializes
    // Transport would wait for it forever. Initialize Transport first, as a fetch does.
    Transport.getTransportProtocols();
    HttpConnectionFactory delegate = HttpTransport.getConnectionFactory();
    HttpTransport.setConnectionFactory(new HttpConnectionFactory() {
      @Override
      public HttpConnection create(URL url) throws IOException {
        return configured(url, delegate.create(url));
      }

      @Override
      public HttpConnection create(URL url, Proxy proxy) throws IOException {
        return configured(url, delegate.create(url, proxy));
      }
    });
    installed = true;
  }

  private static HttpConnection configured(URL url, HttpConnection c) throws IOException {
    TrustManager[] tms = "https".equals(url.getProtocol()) ? BY_ORIGIN.get(origin(url)) : null;
    if (tms != null) {
      try {
        c.configure(null, tms, null);
      } catch (GeneralSecurityException e) {
        throw new IOException("cannot use the CA of " + origin(url) + ": " + e.getMessage(), e);
      }
    }
    return c;
  }

  private static String origin(URL u) {
    int port = u.getPort() < 0 ? u.getDefaultPort() : u.getPort();
    return u.getProtocol() + "://" + u.getHost().toLowerCase(java.util.Locale.ROOT) + ":" + port;
  }
}
