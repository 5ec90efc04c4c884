package dev.procurator.nodeagent.build;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.procurator.api.files.PrivateFiles;
import dev.procurator.api.nix.NixJail;
import dev.procurator.api.runtime.ObjectKey;
import dev.procurator.api.v1alpha1.BuildPhase;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import java.util.Locale;

/**
 * One attempt of one Build on this node, run on its own virtual thread: evaluate each attribute
 * ({@code .drvPath} and its outputs), ask the cache which outputs it has (narinfo {@code HEAD}),
 * realise the rest with {@code nix-store --realise}, push their closures with {@code nix copy}, and
 * upload each build's log to the cache. Every step appends to the attempt's log file, which {@code
 * pctl logs build/NAME -f} follows. Each change of step wakes the Build's key, so the loop writes
 * progress; no reconcile worker waits for nix.
 *
 * <p>A Build is user code. Its derivations build in nix's sandbox as build users ({@link
 * SandboxCheck#SANDBOXED}), seeing the store paths they depend on and the host's tool folders, no
 * data directory; on a host that cannot sandbox the attempt fails {@code SandboxUnavailable} unless
 * the node allows unsandboxed builds. Its flake is evaluated in a {@link NixJail} that shows only
 * the store, the attempt's settings, nix's cache for the Build's namespace, a local flake's own
 * folder and the folders the node's settings name. Every nix process gets an environment made
 * from scratch and a private configuration.
 *
 * <p>The push token reaches nix only for the push, after every build has ended: through a netrc
 * file that only this agent can read, named by a configuration of the push's own, removed when the
 * push returns. It is never on a command line, in the log, or within a build's reach.
 */
public final class BuildRun {
  private static final Logger log = LoggerFactory.getLogger(BuildRun.class);
  private static final ObjectMapper JSON = new ObjectMapper();
  /** How many lines of a failing step's log go into the Build's status. */
  static final int TAIL_LINES = 20;

  /** What to build and where the results go. */
  public record Plan(String flake, List<String> attributes, String cacheUrl, String pushToken, Duration timeout, String extraNixConf,
      Path localFlake, boolean allowUnsandboxed) {
    public Plan(String flake, List<String> attributes, String cacheUrl, String pushToken, Duration timeout) {
      this(flake, attributes, cacheUrl, pushToken, timeout, null, null, false);
    }
  }

  /** Why an attempt failed; {@code retryable} says whether another attempt may do better. */
  public record Failure(String reason, String message, String attribute, String logTail, boolean retryable) {}

  /** A snapshot of how far the attempt got. */
  public record Progress(BuildPhase phase, String message, Map<String, String> outputs, List<String> cached, Failure failure,
      boolean done) {}

  private final ObjectKey key;
  private final int attempt;
  private final Plan plan;
  private final Path dir;
  private final Path xdgCache;
  private final Consumer<ObjectKey> wake;
  private final Clock clock;
  private final SandboxCheck sandbox;
  private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();
  private volatile Progress progress;
  private volatile boolean cancelled;
  private volatile Process current;
  private Instant deadline;

  /**
   * @param dir the Build's folder on this node: its log ({@code build.log}, the previous attempt's
   *     {@code build.log.1}) and the attempt's nix settings
   * @param xdgCache nix's cache folder (fetched flakes, narinfo answers), shared by this node's builds of the Build's namespace
   * @param sandbox whether this host builds sandboxed
   */
  public BuildRun(ObjectKey key, int attempt, Plan plan, Path dir, Path xdgCache, SandboxCheck sandbox, Consumer<ObjectKey> wake, Clock clock) {
    this.sandbox = sandbox;
    this.key = key;
    this.attempt = attempt;
    this.plan = plan;
    this.dir = dir;
    this.xdgCache = xdgCache;
    this.wake = wake;
    this.clock = clock;
    this.progress = new Progress(BuildPhase.EVALUATING, "evaluating " + String.join(", ", plan.attributes()), Map.of(), List.of(), null, false);
  }

  public int attempt() {
    return attempt;
  }

  public Progress progress() {
    return progress;
  }

  public BuildRun start() {
    Thread.ofVirtual().name("build-" + key).start(this::run);
    return this;
  }

  /** Stops the attempt: the running nix process and its children are killed; nothing more is pushed. */
  public void cancel() {
    cancelled = true;
    Process p = current;
    if (p != null) {
      kill(p);
    }
  }

  /** The log file of the attempt that runs (or ran last). */
  public static Path logFile(Path dir) {
    return dir.resolve("build.log");
  }

  // ---- the steps ----

  private void run() {
    Path conf = dir.resolve("nix");
    try {
      Files.createDirectories(dir);
      Path logFile = logFile(dir);
      if (Files.exists(logFile)) {
        Files.move(logFile, dir.resolve("build.log.1"), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
      }
      Files.deleteIfExists(dir.resolve("done"));
      Files.writeString(logFile, "");
      deadline = clock.instant().plus(plan.timeout());
      say("attempt " + attempt + " of " + key + ": " + plan.flake() + " " + plan.attributes());
      String noSandbox = sandbox.problem(plan.extraNixConf());
      if (noSandbox != null && !plan.allowUnsandboxed()) {
        finish(new Progress(null, "refused: " + noSandbox, Map.of(), List.of(),
            new Failure("SandboxUnavailable", "builds here would run unsandboxed: " + noSandbox, null, null, false), true));
        return;
      }
      if (noSandbox != null) {
        say("building WITHOUT a sandbox, as root (the node allows unsandboxed builds): " + noSandbox);
      }
      writeConf(conf, noSandbox == null);
      // evaluate every attribute first: its derivation and its outputs
      Map<String, String> drvs = new LinkedHashMap<>();
      Map<String, List<String>> outs = new LinkedHashMap<>();
      for (String attr : plan.attributes()) {
        say("evaluating " + attr);
        Step s = nix(conf, jailed(conf, List.of("nix", "eval", "--json", "--no-write-lock-file", plan.flake() + "#" + attr, "--apply",
            "d: { drv = d.drvPath; outs = map (o: d.${o}.outPath) (d.outputs or [ \"out\" ]); }")), false);
        if (!s.ok()) {
          finish(s.failure("EvaluationFailed", "evaluating " + attr + " failed", attr, false));
          return;
        }
        JsonNode r = JSON.readTree(s.stdout());
        drvs.put(attr, r.path("drv").asText());
        List<String> paths = new ArrayList<>();
        r.path("outs").forEach(o -> paths.add(o.asText()));
        outs.put(attr, paths);
        say(attr + ": " + drvs.get(attr) + " -> " + String.join(" ", paths));
      }
      // what the cache has already needs no build
      List<String> cached = new ArrayList<>();
      for (String attr : plan.attributes()) {
        if (allCached(outs.get(attr))) {
          cached.add(attr);
          say(attr + ": every output is in the cache already");
        }
      }
      Map<String, String> outputs = new LinkedHashMap<>();
      outs.forEach((a, p) -> outputs.put(a, p.getFirst()));
      List<String> toBuild = plan.attributes().stream().filter(a -> !cached.contains(a)).toList();
      if (toBuild.isEmpty()) {
        finish(new Progress(BuildPhase.SUCCEEDED, "every output was in the cache: nothing built", outputs, cached, null, true));
        return;
      }
      set(BuildPhase.BUILDING, "building " + String.join(", ", toBuild), outputs, cached);
      for (String attr : toBuild) {
        say("building " + attr + " (" + drvs.get(attr) + ")");
        Step s = nix(conf, List.of("nix-store", "--realise", drvs.get(attr)), true);
        if (!s.ok()) {
          finish(s.failure("BuildFailed", "building " + attr + " failed", attr, true));
          return;
        }
      }
      set(BuildPhase.PUSHING, "pushing " + String.join(", ", toBuild) + " to " + plan.cacheUrl(), outputs, cached);
      List<String> push = new ArrayList<>(List.of("nix", "copy", "--to", pushUrl(plan.cacheUrl())));
      toBuild.forEach(a -> push.addAll(outs.get(a)));
      say("pushing the closures of " + String.join(", ", toBuild) + " to " + plan.cacheUrl());
      Path pushConf = dir.resolve("push");
      Step s;
      try {
        writePushConf(conf, pushConf);
        s = nix(pushConf, push, true);
      } finally {
        Files.deleteIfExists(pushConf.resolve("netrc"));
      }
      if (!s.ok()) {
        finish(s.failure("PushFailed", "pushing to " + plan.cacheUrl() + " failed", null, true));
        return;
      }
      for (String attr : toBuild) {
        uploadLog(drvs.get(attr));
      }
      finish(new Progress(BuildPhase.SUCCEEDED, "built " + String.join(", ", toBuild) + (cached.isEmpty() ? "" : "; cached " + String.join(", ", cached)),
          outputs, cached, null, true));
    } catch (Cancelled c) {
      finish(new Progress(progress.phase(), "cancelled", progress.outputs(), progress.cached(),
          new Failure("Cancelled", "the attempt was stopped", null, null, true), true));
    } catch (TimedOut t) {
      finish(new Progress(progress.phase(), progress.message(), progress.outputs(), progress.cached(),
          new Failure("TimedOut", "the attempt took longer than timeoutSeconds (" + plan.timeout().toSeconds() + " s)", null, tail(), true), true));
    } catch (IOException | RuntimeException e) {
      log.warn("build {}: {}", key, e.toString());
      finish(new Progress(progress.phase(), progress.message(), progress.outputs(), progress.cached(),
          new Failure("BuilderError", "the builder failed: " + e.getMessage(), null, null, true), true));
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } finally {
      // the netrc holds the push token: it goes with the push, or with the attempt
      try {
        Files.deleteIfExists(dir.resolve("push").resolve("netrc"));
      } catch (IOException e) {
        log.debug("removing {}: {}", dir, e.toString());
      }
    }
  }

  /** The cache URL nix pushes to: uncompressed NARs unless the URL says otherwise (closures of kernels compress slowly). */
  static String pushUrl(String cacheUrl) {
    return cacheUrl.contains("compression=") ? cacheUrl : cacheUrl + (cacheUrl.contains("?") ? "&" : "?") + "compression=none";
  }

  /** The attempt's settings: sandboxed, then the node's own, then (when the node allows it on a host that cannot sandbox) no sandbox. */
  private void writeConf(Path conf, boolean sandboxed) throws IOException {
    PrivateFiles.privateDirectory(conf);
    Files.writeString(conf.resolve("nix.conf"), SandboxCheck.SANDBOXED + (plan.extraNixConf() == null ? "" : plan.extraNixConf().strip() + "\n")
        + (sandboxed ? "" : SandboxCheck.UNSANDBOXED));
  }

  /** The push's settings: the attempt's, and a netrc with the push token (0600 in a 0700 folder), written now that every build has ended. */
  private void writePushConf(Path conf, Path pushConf) throws IOException {
    PrivateFiles.privateDirectory(pushConf);
    Path netrc = pushConf.resolve("netrc");
    PrivateFiles.write(netrc, plan.pushToken() == null ? ""
        : "machine " + URI.create(plan.cacheUrl()).getHost() + " login nix password " + plan.pushToken() + "\n");
    Files.writeString(pushConf.resolve("nix.conf"), Files.readString(conf.resolve("nix.conf")) + "netrc-file = " + netrc + "\n");
  }

  /**
   * {@code cmd} in a {@link NixJail}: the store, the attempt's settings, nix's cache, a private
   * home, the local flake's folder, and the folders the node's settings name (a store of its own).
   */
  private List<String> jailed(Path conf, List<String> cmd) throws IOException {
    Path home = dir.resolve("home");
    Path root = dir.resolve("jail");
    Files.createDirectories(home);
    Files.createDirectories(root);
    Files.createDirectories(xdgCache);
    List<Path> ro = new ArrayList<>(List.of(conf));
    if (plan.localFlake() != null) {
      ro.add(plan.localFlake());
    }
    List<Path> rw = new ArrayList<>(List.of(home, xdgCache));
    rw.addAll(namedFolders(plan.extraNixConf()));
    return NixJail.command(root, ro, rw, 0, cmd);
  }

  /** Folders that the node's nix settings name (such as {@code store = /srv/builder-store}), but none of the host's system folders. */
  static List<Path> namedFolders(String nixConf) {
    List<Path> out = new ArrayList<>();
    if (nixConf == null) {
      return out;
    }
    java.util.regex.Matcher m = java.util.regex.Pattern.compile("(?<=[\\s=?])(/[^\\s?&]+)").matcher(nixConf);
    while (m.find()) {
      Path p = Path.of(m.group(1)).normalize();
      boolean system = p.getNameCount() == 0 || List.of("nix", "usr", "bin", "sbin", "lib", "lib64", "etc", "proc", "dev", "sys", "run")
          .contains(p.getName(0).toString());
      if (!system && Files.isDirectory(p)) {
        out.add(p);
      }
    }
    return out;
  }

  private boolean allCached(List<String> paths) throws IOException, InterruptedException {
    for (String p : paths) {
      String hash = Path.of(p).getFileName().toString().substring(0, 32);
      HttpRequest.Builder req = HttpRequest.newBuilder(URI.create(base(plan.cacheUrl()) + "/" + hash + ".narinfo"))
          .method("HEAD", HttpRequest.BodyPublishers.noBody()).timeout(Duration.ofSeconds(10));
      auth(req);
      int code = http.send(req.build(), HttpResponse.BodyHandlers.discarding()).statusCode();
      if (code != 200) {
        return false;
      }
    }
    return !paths.isEmpty();
  }

  private void uploadLog(String drv) throws IOException {
    try {
      HttpRequest.Builder req = HttpRequest.newBuilder(URI.create(base(plan.cacheUrl()) + "/log/" + Path.of(drv).getFileName()))
          .PUT(HttpRequest.BodyPublishers.ofFile(logFile(dir))).header("Content-Type", "text/plain; charset=utf-8").timeout(Duration.ofSeconds(30));
      auth(req);
      int code = http.send(req.build(), HttpResponse.BodyHandlers.discarding()).statusCode();
      say(code == 200 ? "uploaded the log to the cache as log/" + Path.of(drv).getFileName() : "the cache refused the log (" + code + ")");
    } catch (IOException e) {
      say("uploading the log failed: " + e.getMessage());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  private static String base(String url) {
    String u = url.contains("?") ? url.substring(0, url.indexOf('?')) : url;
    return u.endsWith("/") ? u.substring(0, u.length() - 1) : u;
  }

  private void auth(HttpRequest.Builder req) {
    if (plan.pushToken() != null) {
      req.header("Authorization", "Basic " + Base64.getEncoder().encodeToString(("nix:" + plan.pushToken()).getBytes(StandardCharsets.UTF_8)));
    }
  }

  // ---- processes ----

  private static final class Cancelled extends RuntimeException {
    Cancelled() {
      super(null, null, false, false);
    }
  }

  private static final class TimedOut extends RuntimeException {
    TimedOut() {
      super(null, null, false, false);
    }
  }

  /** What one nix command left: its exit code, its stdout, and the tail of the log. */
  private record Step(int code, String stdout, String tail) {
    boolean ok() {
      return code == 0;
    }

    Progress failure(String reason, String what, String attribute, boolean retryable) {
      String err = errorLines(tail);
      return new Progress(null, what, Map.of(), List.of(), new Failure(reason, what + ": " + err, attribute, tail, retryable), true);
    }
  }

  static String errorLines(String tail) {
    return dev.procurator.api.text.NixMessages.errorLines(tail);
  }

  /** Runs a nix command with the attempt's settings; its stderr (and with {@code logStdout} its stdout) goes to the log. */
  private Step nix(Path conf, List<String> cmd, boolean logStdout) throws IOException, InterruptedException {
    if (cancelled) {
      throw new Cancelled();
    }
    Path out = dir.resolve("stdout");
    Path logFile = logFile(dir);
    long from = Files.size(logFile);
    ProcessBuilder pb = new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.appendTo(logFile.toFile()))
        .redirectOutput(logStdout ? ProcessBuilder.Redirect.appendTo(logFile.toFile()) : ProcessBuilder.Redirect.to(out.toFile()))
        .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")));
    pb.environment().clear();
    boolean jailed = !cmd.getFirst().equals("nix") && !cmd.getFirst().equals("nix-store");
    pb.environment().putAll(jailed ? NixJail.environment(dir.resolve("home"), xdgCache, conf)
        : SandboxCheck.environment(System.getenv("PATH"), dir.resolve("home"), xdgCache, conf));
    Process p = pb.start();
    current = p;
    try {
      long left = Duration.between(clock.instant(), deadline).toMillis();
      if (left <= 0 || !p.waitFor(left, TimeUnit.MILLISECONDS)) {
        kill(p);
        throw new TimedOut();
      }
      if (cancelled) {
        throw new Cancelled();
      }
      String stdout = logStdout ? "" : Files.readString(out);
      return new Step(p.exitValue(), stdout, tailFrom(logFile, from));
    } finally {
      current = null;
      Files.deleteIfExists(out);
    }
  }

  private static void kill(Process p) {
    NixJail.kill(p);
  }

  // ---- progress and the log ----

  private void say(String line) throws IOException {
    Files.writeString(logFile(dir), "[procurator] " + line + "\n", StandardOpenOption.APPEND);
  }

  private void set(BuildPhase phase, String message, Map<String, String> outputs, List<String> cached) {
    progress = new Progress(phase, message, Map.copyOf(outputs), List.copyOf(cached), null, false);
    wake.accept(key);
  }

  private void finish(Progress p) {
    try {
      say(p.failure() == null ? "done: " + p.message() : "failed: " + p.failure().message());
      Files.writeString(dir.resolve("done"), "");
    } catch (IOException e) {
      log.debug("build {}: {}", key, e.toString());
    }
    progress = p.phase() == null ? new Progress(progress.phase(), p.message(), progress.outputs(), progress.cached(), p.failure(), true) : p;
    wake.accept(key);
  }

  private String tail() {
    try {
      return tailFrom(logFile(dir), 0);
    } catch (IOException e) {
      return null;
    }
  }

  /** The last {@link #TAIL_LINES} lines of {@code file} from byte {@code from} on. */
  static String tailFrom(Path file, long from) throws IOException {
    try (RandomAccessFile f = new RandomAccessFile(file.toFile(), "r")) {
      long start = Math.max(from, f.length() - 64 * 1024);
      f.seek(start);
      byte[] b = new byte[(int) (f.length() - start)];
      f.readFully(b);
      List<String> lines = new String(b, StandardCharsets.UTF_8).lines().toList();
      return String.join("\n", lines.subList(Math.max(0, lines.size() - TAIL_LINES), lines.size()));
    }
  }
}
