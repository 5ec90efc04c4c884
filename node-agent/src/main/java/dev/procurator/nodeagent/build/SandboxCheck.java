package dev.procurator.nodeagent.build;

import dev.procurator.api.text.NixMessages;
import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;

/**
 * Whether this host's nix builds in its sandbox as a build user, with the settings Builds run
 * with: one tiny derivation is built (a fresh one each time, so nix really runs it) whose builder
 * fails unless it runs in a user namespace that maps it to a user other than root, which is what
 * nix's sandbox with {@code build-users-group} gives. A host passes once and is remembered; a host
 * that fails is asked again by the first attempt a minute or more later, so build users created
 * meanwhile are found without a restart. Thread-safe.
 */
public final class SandboxCheck {
  /** The settings every Build's nix runs with, before the node's own ({@code --build-nix-conf}). */
  static final String SANDBOXED = """
      experimental-features = nix-command flakes
      build-users-group = nixbld
      sandbox = true
      sandbox-fallback = false
      sandbox-paths = /bin /usr /lib /lib64
      allow-unsafe-native-code-during-evaluation = false
      accept-flake-config = false
      substituters =
      narinfo-cache-negative-ttl = 0
      narinfo-cache-positive-ttl = 0
      warn-dirty = false
      """;

  /** What is added after the node's settings when a host that cannot sandbox is allowed to build anyway. */
  static final String UNSANDBOXED = """
      build-users-group =
      sandbox = false
      """;

  static final String ADVICE = "create group nixbld with build users nixbld1..nixbld10 (as bin/test and bin/pctl do, see README), "
      + "or start the agent with --allow-unsandboxed-builds to build without a sandbox, as root";

  private static final String PROBE = """
      { nonce }: derivation {
        name = "procurator-sandbox-check"; system = builtins.currentSystem; builder = "/bin/sh"; inherit nonce;
        args = [ "-c" "read -r inside outside count < /proc/self/uid_map; if [ \\"$outside\\" = 0 ]; then echo \\"the builder ran as root (uid map: $inside $outside $count)\\"; exit 1; fi; echo ok > $out" ];
      }
      """;

  /** How long a failed check stands before an attempt asks again. */
  static final java.time.Duration RECHECK = java.time.Duration.ofMinutes(1);

  private final Path dir;
  private volatile boolean works;
  private String failed;
  private long failedAt;

  /** @param dir a folder of its own for the check's settings and output */
  public SandboxCheck(Path dir) {
    this.dir = dir;
  }

  /**
   * Null when builds here run sandboxed as build users with {@code extraNixConf} added to the
   * settings; otherwise why not, and what to do about it.
   */
  public String problem(String extraNixConf) throws InterruptedException {
    if (works) {
      return null;
    }
    synchronized (this) {
      if (works) {
        return null;
      }
      if (failed != null && System.nanoTime() - failedAt < RECHECK.toNanos()) {
        return failed;
      }
      String problem = check(extraNixConf);
      works = problem == null;
      failed = problem;
      failedAt = System.nanoTime();
      return problem;
    }
  }

  private String check(String extraNixConf) throws InterruptedException {
    try {
      Path conf = dir.resolve("nix");
      Files.createDirectories(conf);
      Files.writeString(conf.resolve("nix.conf"), SANDBOXED + (extraNixConf == null ? "" : extraNixConf.strip() + "\n"));
      Path out = dir.resolve("check.log");
      ProcessBuilder pb = new ProcessBuilder("nix-build", "--no-out-link", "-E", PROBE, "--argstr", "nonce", UUID.randomUUID().toString())
          .redirectErrorStream(true).redirectOutput(out.toFile()).redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")));
      pb.environment().clear();
      pb.environment().putAll(environment(System.getenv("PATH"), dir.resolve("home"), dir.resolve("xdg"), conf));
      Process p = pb.start();
      if (!p.waitFor(60, TimeUnit.SECONDS)) {
        p.descendants().forEach(ProcessHandle::destroyForcibly);
        p.destroyForcibly();
        return "nix took over a minute to build a one-line derivation; " + ADVICE;
      }
      if (p.exitValue() == 0) {
        return null;
      }
      return "this host's nix cannot build in its sandbox as a build user: " + NixMessages.errorLines(Files.readString(out, StandardCharsets.UTF_8))
          + "; " + ADVICE;
    } catch (IOException e) {
      return "checking nix's sandbox failed: " + e.getMessage() + "; " + ADVICE;
    }
  }

  /**
   * The whole environment of a Build's nix processes: the agent's {@code PATH} (to find nix and
   * git) and proxy settings, and a private {@code HOME}, nix cache and configuration; nothing else
   * of the agent's.
   */
  static Map<String, String> environment(String path, Path home, Path xdgCache, Path conf) {
    Map<String, String> env = new java.util.LinkedHashMap<>(Map.of("PATH", path == null ? "/usr/bin:/bin" : path, "HOME",
        home.toAbsolutePath().toString(), "XDG_CACHE_HOME", xdgCache.toAbsolutePath().toString(), "NIX_CONF_DIR",
        conf.toAbsolutePath().toString(), "NIX_USER_CONF_FILES", conf.resolve("nix.conf").toAbsolutePath().toString()));
    env.putAll(dev.procurator.api.nix.NixJail.proxySettings());
    return env;
  }
}
