package dev.procurator.controllers.gitops;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Base64;
import java.util.Map;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;

/**
 * git's smart HTTP protocol on 127.0.0.1, served by the real {@code git http-backend} behind a
 * small CGI bridge, optionally behind basic authentication: the remote a private HTTPS repository
 * is to the controller, without the TLS.
 */
final class GitServer implements AutoCloseable {
  private final HttpServer server;
  private final Path root;
  private final String user;
  private final String password;

  private final boolean https;

  /** Serves the bare repositories under {@code root}; with a user, only to requests that authenticate as it. */
  GitServer(Path root, String user, String password) throws IOException {
    this(root, user, password, null);
  }

  /** The same over HTTPS, with the serving certificate and key of {@code pki} (a private CA's). */
  GitServer(Path root, String user, String password, dev.procurator.apiserver.auth.Pki pki) throws IOException {
    this.root = root;
    this.user = user;
    this.password = password;
    this.https = pki != null;
    if (pki != null) {
      com.sun.net.httpserver.HttpsServer s = com.sun.net.httpserver.HttpsServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
      s.setHttpsConfigurator(new com.sun.net.httpserver.HttpsConfigurator(serving(pki)));
      server = s;
    } else {
      server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
    }
    server.setExecutor(Executors.newVirtualThreadPerTaskExecutor());
    server.createContext("/", this::serve);
    server.start();
  }

  /** The URL of the bare repository {@code name} under the root. */
  String url(String name) {
    return (https ? "https" : "http") + "://127.0.0.1:" + server.getAddress().getPort() + "/" + name;
  }

  /** A server SSLContext from the PKI's serving certificate and PKCS#8 key. */
  private static javax.net.ssl.SSLContext serving(dev.procurator.apiserver.auth.Pki pki) throws IOException {
    try (var reader = new org.bouncycastle.openssl.PEMParser(java.nio.file.Files.newBufferedReader(pki.serverKey()))) {
      Object o = reader.readObject();
      java.security.PrivateKey key = new org.bouncycastle.openssl.jcajce.JcaPEMKeyConverter()
          .getPrivateKey((org.bouncycastle.asn1.pkcs.PrivateKeyInfo) o);
      java.security.cert.Certificate[] chain = java.security.cert.CertificateFactory.getInstance("X.509")
          .generateCertificates(java.nio.file.Files.newInputStream(pki.serverCert())).toArray(new java.security.cert.Certificate[0]);
      java.security.KeyStore ks = java.security.KeyStore.getInstance("PKCS12");
      ks.load(null, null);
      ks.setKeyEntry("server", key, new char[0], chain);
      javax.net.ssl.KeyManagerFactory kmf = javax.net.ssl.KeyManagerFactory.getInstance(javax.net.ssl.KeyManagerFactory.getDefaultAlgorithm());
      kmf.init(ks, new char[0]);
      javax.net.ssl.SSLContext ctx = javax.net.ssl.SSLContext.getInstance("TLS");
      ctx.init(kmf.getKeyManagers(), null, null);
      return ctx;
    } catch (java.security.GeneralSecurityException e) {
      throw new IOException(e);
    }
  }

  private final java.util.concurrent.atomic.AtomicInteger withCredentials = new java.util.concurrent.atomic.AtomicInteger();

  /** How many requests came with an Authorization header, right or wrong. */
  public int requestsWithCredentials() {
    return withCredentials.get();
  }

  private final Map<String, java.util.concurrent.atomic.AtomicInteger> fetches = new java.util.concurrent.ConcurrentHashMap<>();

  /** How many fetches (ref advertisements, {@code GET NAME/info/refs}) the bare repository {@code name} served. */
  public int fetches(String name) {
    var n = fetches.get("/" + name + "/info/refs");
    return n == null ? 0 : n.get();
  }

  private void serve(HttpExchange ex) throws IOException {
    try (ex) {
      fetches.computeIfAbsent(ex.getRequestURI().getPath(), k -> new java.util.concurrent.atomic.AtomicInteger()).incrementAndGet();
      if (ex.getRequestHeaders().getFirst("Authorization") != null) {
        withCredentials.incrementAndGet();
      }
      if (user != null) {
        String auth = ex.getRequestHeaders().getFirst("Authorization");
        String expected = "Basic " + Base64.getEncoder().encodeToString((user + ":" + password).getBytes(StandardCharsets.UTF_8));
        if (!expected.equals(auth)) {
          ex.getResponseHeaders().add("WWW-Authenticate", "Basic realm=\"git\"");
          ex.sendResponseHeaders(401, -1);
          return;
        }
      }
      ProcessBuilder pb = new ProcessBuilder("git", "http-backend");
      Map<String, String> env = pb.environment();
      env.put("GIT_PROJECT_ROOT", root.toString());
      env.put("GIT_HTTP_EXPORT_ALL", "1");
      env.put("PATH_INFO", ex.getRequestURI().getPath());
      env.put("QUERY_STRING", ex.getRequestURI().getRawQuery() == null ? "" : ex.getRequestURI().getRawQuery());
      env.put("REQUEST_METHOD", ex.getRequestMethod());
      String type = ex.getRequestHeaders().getFirst("Content-Type");
      env.put("CONTENT_TYPE", type == null ? "" : type);
      String encoding = ex.getRequestHeaders().getFirst("Content-Encoding");
      if (encoding != null) {
        env.put("HTTP_CONTENT_ENCODING", encoding);
      }
      env.put("GIT_PROTOCOL", String.valueOf(ex.getRequestHeaders().getFirst("Git-Protocol")));
      env.put("REMOTE_USER", user == null ? "anonymous" : user);
      env.put("REMOTE_ADDR", "127.0.0.1");
      Process p = pb.start();
      try (OutputStream in = p.getOutputStream(); InputStream body = ex.getRequestBody()) {
        body.transferTo(in);
      }
      byte[] out = p.getInputStream().readAllBytes();
      p.waitFor(30, TimeUnit.SECONDS);
      int split = indexOf(out, "\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
      int skip = 4;
      if (split < 0) {
        split = indexOf(out, "\n\n".getBytes(StandardCharsets.US_ASCII));
        skip = 2;
      }
      int status = 200;
      for (String line : new String(out, 0, Math.max(split, 0), StandardCharsets.ISO_8859_1).split("\r?\n")) {
        int colon = line.indexOf(':');
        if (colon <= 0) {
          continue;
        }
        String name = line.substring(0, colon).trim();
        String value = line.substring(colon + 1).trim();
        if (name.equalsIgnoreCase("Status")) {
          status = Integer.parseInt(value.split(" ")[0]);
        } else {
          ex.getResponseHeaders().add(name, value);
        }
      }
      ByteArrayOutputStream rest = new ByteArrayOutputStream();
      if (split >= 0) {
        rest.write(out, split + skip, out.length - split - skip);
      }
      ex.sendResponseHeaders(status, rest.size() == 0 ? -1 : rest.size());
      if (rest.size() > 0) {
        ex.getResponseBody().write(rest.toByteArray());
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  private static int indexOf(byte[] hay, byte[] needle) {
    outer:
    for (int i = 0; i <= hay.length - needle.length; i++) {
      for (int j = 0; j < needle.length; j++) {
        if (hay[i + j] != needle[j]) {
          continue outer;
        }
      }
      return i;
    }
    return -1;
  }

  @Override
  public void close() {
    server.stop(0);
  }
}
