package dev.procurator.pctl;

import dev.procurator.apiserver.testing.EtcdProcess;
import dev.procurator.apiserver.testing.TestTls;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** {@code pctl up} as a user runs it: the shaded jar in its own JVM, on a free loopback port. */
final class PctlUp implements AutoCloseable {
  final Path dataDir;
  /** Where pctl up's output goes: {@code up.log} in the data directory unless a test puts it elsewhere. */
  final Path log;
  /** The API server's port; another one when the first was taken before pctl up bound it. */
  volatile int port;
  volatile int cachePort;
  /** The node name pctl up runs under when the test names none. */
  final String nodeName = dev.procurator.apiserver.testing.TestNames.unique("node");
  private final List<String> extraArgs;
  private Process process;
  private HttpClient http;

  private PctlUp(Path dataDir, int port, List<String> extraArgs) throws IOException {
    this(dataDir, dataDir.resolve("up.log"), port, extraArgs);
  }

  private PctlUp(Path dataDir, Path log, int port, List<String> extraArgs) throws IOException {
    this.dataDir = dataDir;
    this.log = log;
    this.port = port;
    this.cachePort = EtcdProcess.freePort();
    this.extraArgs = extraArgs;
  }

  /** The API server and cache only: for tests of the API and the cache. */
  static PctlUp start(String... extraArgs) throws Exception {
    List<String> args = new ArrayList<>(List.of("--no-agent", "--no-controllers"));
    args.addAll(List.of(extraArgs));
    PctlUp up = new PctlUp(Files.createTempDirectory("pctl-up"), EtcdProcess.freePort(), args);
    up.launch();
    return up;
  }

  /** The API server, the cache and the controllers, with no node agent. */
  static PctlUp withControllers(String... extraArgs) throws Exception {
    List<String> args = new ArrayList<>(List.of("--no-agent"));
    args.addAll(List.of(extraArgs));
    PctlUp up = new PctlUp(Files.createTempDirectory("pctl-up"), EtcdProcess.freePort(), args);
    up.launch();
    return up;
  }

  /** Everything, as the quick start runs it: controllers and a node agent too. */
  static PctlUp system(String... extraArgs) throws Exception {
    PctlUp up = new PctlUp(Files.createTempDirectory("pctl-up"), EtcdProcess.freePort(), List.of(extraArgs));
    up.launch();
    return up;
  }

  /** Everything, as {@link #system} starts it, with {@code environment} set for pctl up beside the test's own. */
  static PctlUp system(java.util.Map<String, String> environment, String... extraArgs) throws Exception {
    PctlUp up = new PctlUp(Files.createTempDirectory("pctl-up"), EtcdProcess.freePort(), List.of(extraArgs));
    up.environment.putAll(environment);
    up.launch();
    return up;
  }

  /**
   * Everything, with every way off this machine closed: git, nix and Java's own HTTP are sent
   * through a proxy on a loopback port where nothing listens, so an example that names a remote
   * (git.example.com) fails at once and on loopback, never reaching for the network.
   */
  static PctlUp systemOffLoopback(String... extraArgs) throws Exception {
    PctlUp up = new PctlUp(Files.createTempDirectory("pctl-up"), EtcdProcess.freePort(), List.of(extraArgs));
    String closed = "127.0.0.1:" + EtcdProcess.freePort();
    for (String v : List.of("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "all_proxy")) {
      up.environment.put(v, "http://" + closed);
    }
    up.environment.put("no_proxy", "127.0.0.1,localhost");
    up.environment.put("NO_PROXY", "127.0.0.1,localhost");
    String host = closed.substring(0, closed.indexOf(':'));
    String port = closed.substring(closed.indexOf(':') + 1);
    up.jvmOptions.addAll(List.of("-Dhttp.proxyHost=" + host, "-Dhttp.proxyPort=" + port, "-Dhttps.proxyHost=" + host,
        "-Dhttps.proxyPort=" + port, "-Dhttp.nonProxyHosts=127.0.0.1|localhost"));
    up.launch();
    return up;
  }

  /**
   * The API server, cache and controllers (no node agent) in {@code dataDir}, which pctl up makes
   * itself when it does not exist, its output in {@code log}; started by {@link #launch()} once the
   * test has set the environment and {@link #wrapper}.
   */
  static PctlUp unstarted(Path dataDir, Path log, String... extraArgs) throws Exception {
    List<String> args = new ArrayList<>(List.of("--no-agent"));
    args.addAll(List.of(extraArgs));
    return new PctlUp(dataDir, log, EtcdProcess.freePort(), args);
  }

  /** A command pctl up's JVM runs under (such as strace), its arguments first; empty for none. */
  final List<String> wrapper = new ArrayList<>();

  /** Environment variables of the pctl up process beside the test's own. */
  final java.util.Map<String, String> environment = new java.util.HashMap<>();
  /** JVM options of the pctl up process. */
  final List<String> jvmOptions = new ArrayList<>();

  static Path jar() {
    Path jar = Path.of("target", "pctl.jar");
    if (!Files.exists(jar)) {
      throw new IllegalStateException("target/pctl.jar is missing: integration tests run after the package phase");
    }
    return jar;
  }

  static String java() {
    return ProcessHandle.current().info().command().orElse("java");
  }

  void launch() throws Exception {
    // a port found free may be taken before pctl up binds it: such a start is tried again on other ports
    for (int attempt = 1; ; attempt++) {
      long before = Files.exists(log) ? Files.size(log) : 0;
      try {
        launchOnce();
        return;
      } catch (IllegalStateException e) {
        String said = Files.readString(log).substring((int) before);
        if (attempt == 3 || !said.contains("Address already in use")) {
          throw e;
        }
        if (process.isAlive()) {
          process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
        }
        port = EtcdProcess.freePort();
        cachePort = EtcdProcess.freePort();
      }
    }
  }

  private void launchOnce() throws Exception {
    Files.deleteIfExists(kubeconfig());
    List<String> cmd = new ArrayList<>(wrapper);
    cmd.addAll(List.of(java(), "--enable-native-access=ALL-UNNAMED", "-Xmx512m"));
    if (extraArgs.contains("--images-dir")) {
      // as bin/pctl runs it: from this repository, whose example guest (built once into the images
      // directory given) it publishes to its cache as 'hello'; without one, it would build the guest anew
      cmd.add("-Dprocurator.home=" + dev.procurator.nodeagent.testing.Guest.repoRoot());
    }
    cmd.addAll(jvmOptions);
    cmd.addAll(List.of("-jar", jar().toString(),
        "up", "--data-dir", dataDir.toString(), "--listen", "127.0.0.1:" + port, "--cache-listen", "127.0.0.1:" + cachePort));
    cmd.addAll(extraArgs);
    if (!extraArgs.contains("--prometheus-listen")) {
      cmd.add("--no-prometheus"); // Prometheus' default port is one for the whole machine: a test that wants it names a free one
    }
    if (!extraArgs.contains("--node-name")) {
      cmd.addAll(List.of("--node-name", nodeName)); // not the host's name, which depends on the machine
    }
    ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true)
        .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()));
    pb.environment().putAll(environment);
    process = pb.start();
    long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
    while (System.nanoTime() < deadline) {
      if (!process.isAlive()) {
        throw new IllegalStateException("pctl up exited: " + Files.readString(log));
      }
      if (Files.exists(kubeconfig())) {
        try {
          if (request("GET", "/healthz", null).statusCode() == 200) {
            return;
          }
        } catch (IOException notYet) {
          // not listening yet
        }
      }
      java.util.concurrent.locks.LockSupport.parkNanos(Duration.ofMillis(100).toNanos());
    }
    throw new IllegalStateException("pctl up did not become ready in 60 s: " + Files.readString(log));
  }

  /** Starts {@code pctl ARGS} against this server (with its kubeconfig), its output going to {@code output}. */
  Process pctl(Path output, String... args) throws IOException {
    List<String> cmd = new java.util.ArrayList<>(List.of(java(), "--enable-native-access=ALL-UNNAMED", "-jar", jar().toString(),
        "--kubeconfig", kubeconfig().toString()));
    cmd.addAll(List.of(args));
    return new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(output.toFile()).start();
  }

  /** Runs {@code pctl ARGS} to its end and returns what it printed; it must succeed within a minute. */
  String run(Path tmp, String... args) throws Exception {
    Path out = Files.createTempFile(tmp, "pctl", ".out");
    Process p = pctl(out, args);
    if (!p.waitFor(60, TimeUnit.SECONDS)) {
      p.destroyForcibly();
      throw new AssertionError("pctl " + String.join(" ", args) + " did not end within 60 s: " + Files.readString(out));
    }
    String text = Files.readString(out);
    if (p.exitValue() != 0) {
      throw new AssertionError("pctl " + String.join(" ", args) + " exited " + p.exitValue() + ": " + text);
    }
    return text;
  }

  Path kubeconfig() {
    return dataDir.resolve("kubeconfig");
  }

  String token() throws IOException {
    return Files.readString(dataDir.resolve("admin-token")).trim();
  }

  String url() {
    return "https://127.0.0.1:" + port;
  }

  Process process() {
    return process;
  }

  synchronized HttpClient http() throws Exception {
    if (http == null) {
      http = HttpClient.newBuilder().sslContext(TestTls.trusting(dataDir.resolve("pki").resolve("ca.crt"))).connectTimeout(Duration.ofSeconds(5)).build();
    }
    return http;
  }

  HttpResponse<String> request(String method, String path, String jsonBody) throws Exception {
    return request(method, path, "application/json", jsonBody);
  }

  HttpResponse<String> request(String method, String path, String contentType, String body) throws Exception {
    HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(url() + path)).timeout(Duration.ofSeconds(20))
        .header("Authorization", "Bearer " + token())
        .method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body));
    if (body != null) {
      b.header("Content-Type", contentType);
    }
    return http().send(b.build(), HttpResponse.BodyHandlers.ofString());
  }

  /**
   * Stops pctl up as Ctrl-C would and waits for it, keeping its data directory, so that
   * {@link #launch()} can start it again. Under a {@link #wrapper} the JVM is stopped first; the
   * wrapper then ends by itself.
   */
  void stop() throws Exception {
    for (ProcessHandle h : process.descendants().toList()) {
      h.destroy();
      h.onExit().get(30, TimeUnit.SECONDS);
    }
    process.destroy();
    if (!process.waitFor(30, TimeUnit.SECONDS)) {
      process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
    }
  }

  /** kill -9, as a crash or the OOM killer would. */
  void kill9() throws InterruptedException {
    process.destroyForcibly();
    process.waitFor(30, TimeUnit.SECONDS);
  }

  @Override
  public void close() throws Exception {
    // a test's timeout interrupts this thread: the machines and files go all the same
    boolean interrupted = Thread.interrupted();
    try {
      if (process != null && process.isAlive()) {
        process.descendants().forEach(ProcessHandle::destroy); // a wrapper's JVM, which outlives a stopped wrapper
        process.destroy();
        if (interrupted || !process.waitFor(20, TimeUnit.SECONDS)) {
          process.destroyForcibly();
          process.onExit().get(10, TimeUnit.SECONDS);
        }
      }
    } finally {
      dev.procurator.nodeagent.testing.Guest.killMachines(dataDir);
      EtcdProcess.deleteTree(dataDir);
      if (interrupted) {
        Thread.currentThread().interrupt();
      }
    }
  }
}
