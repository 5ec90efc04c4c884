package dev.procurator.apiserver.testing;

import static org.awaitility.Awaitility.await;

import dev.procurator.apiserver.ApiServer;
import dev.procurator.apiserver.ApiServerConfig;
import dev.procurator.apiserver.auth.Pki;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * A real API server on the embedded store in its own JVM (this module's test classpath), so that a
 * test can kill it with -9 and start it again on the same data dir and port. TLS from a CA in the
 * data dir, the {@link TestApiServer#TOKEN} admin token; its output goes to {@code server.log} there.
 */
public final class ApiServerProcess implements AutoCloseable {
  private final Path dir;
  private int port;
  private Process process;
  private boolean started;

  private ApiServerProcess(Path dir, int port) {
    this.dir = dir;
    this.port = port;
  }

  /** Starts a server in a new temp dir and waits until it answers. */
  public static ApiServerProcess start() throws Exception {
    ApiServerProcess p = new ApiServerProcess(Files.createTempDirectory("apiserver-process"), EtcdProcess.freePort());
    Pki.ensure(p.dir.resolve("pki"), List.of("127.0.0.1"));
    p.launch();
    return p;
  }

  /** The server's data dir: its store, PKI and log. */
  public Path dir() {
    return dir;
  }

  public String url() {
    return "https://127.0.0.1:" + port;
  }

  /** The CA certificate that signed the server's. */
  public Path caCert() {
    return dir.resolve("pki").resolve("ca.crt");
  }

  /** An HTTP client trusting the server (each call a new one, with its own connections). */
  public HttpClient newHttpClient() throws Exception {
    return HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).sslContext(TestTls.trusting(caCert()))
        .connectTimeout(Duration.ofSeconds(2)).build();
  }

  /** The server's process, for its PID. */
  public Process process() {
    return process;
  }

  /** kill -9, as a crash or the OOM killer would; waits until the process is gone. */
  public void kill9() throws InterruptedException {
    process.destroyForcibly();
    if (!process.waitFor(30, TimeUnit.SECONDS)) {
      throw new IllegalStateException("the API server (pid " + process.pid() + ") did not die of kill -9");
    }
  }

  /** Starts the server again on the same data dir and port and waits until it answers. */
  public void launch() throws Exception {
    for (int attempt = 1; ; attempt++) {
      Path log = dir.resolve("server.log");
      long before = Files.exists(log) ? Files.size(log) : 0;
      List<String> cmd = new ArrayList<>(List.of(ProcessHandle.current().info().command().orElse("java"),
          "--enable-native-access=ALL-UNNAMED", "-Xmx256m", "-cp", System.getProperty("java.class.path"),
          ApiServerProcess.class.getName(), dir.toString(), Integer.toString(port)));
      process = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile())).start();
      try {
        HttpClient http = newHttpClient();
        await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(100)).until(() -> {
          if (!process.isAlive()) {
            throw new IllegalStateException("the API server exited: " + Files.readString(log).substring((int) before));
          }
          try {
            return http.send(HttpRequest.newBuilder(URI.create(url() + "/healthz")).timeout(Duration.ofSeconds(2)).build(),
                HttpResponse.BodyHandlers.ofString()).statusCode() == 200;
          } catch (IOException notYet) {
            return false;
          }
        });
        started = true;
        return;
      } catch (RuntimeException e) {
        process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
        boolean taken = Files.readString(log).substring((int) before).contains("Address already in use");
        // a port found free may be taken before the first start binds it: try another, never on a restart
        if (attempt == 3 || !taken || started) {
          throw e;
        }
        port = EtcdProcess.freePort();
      }
    }
  }

  @Override
  public void close() throws Exception {
    if (process != null && process.isAlive()) {
      kill9();
    }
  }

  /** The server process: {@code DIR PORT}. Runs until killed. */
  public static void main(String[] args) throws Exception {
    Path dir = Path.of(args[0]);
    Pki pki = Pki.ensure(dir.resolve("pki"), List.of("127.0.0.1"));
    ApiServerConfig config = ApiServerConfig.embedded("127.0.0.1", Integer.parseInt(args[1]), dir.resolve("store"), TestApiServer.TOKEN)
        .withTls(pki.serverCert(), pki.serverKey())
        .withAccess(new ApiServerConfig.Access(null, pki.caCert(), true, dir.resolve("pki")));
    new ApiServer(config, Clock.systemUTC()).start();
    new CountDownLatch(1).await();
  }
}
