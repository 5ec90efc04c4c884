package dev.procurator.pctl;

import dev.procurator.api.files.PrivateFiles;
import dev.procurator.api.nix.ClosureNames;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The example guest that {@code examples/} boot, made on first use with the scripts in the
 * repository pctl runs from ({@code procurator.home}, set by bin/pctl); elsewhere it does nothing.
 * Its kernel and initramfs go into the agent's images directory; from them a closure is built into
 * the Nix store with builtins only ({@code examples/gitops/nix/guest.nix}), pushed to this host's
 * binary cache and named {@value #NAME} there, so every node can boot it by name.
 */
final class ExampleGuest {
  /** The closure name the examples boot. */
  static final String NAME = "hello";
  private static final Pattern OUT = Pattern.compile("\"out\"\\s*:\\s*\"(/nix/store/[^\"]+)\"");

  private ExampleGuest() {}

  /** Builds the kernel and initramfs into {@code images/hello} (the script returns at once when they are current). */
  static void ensure(Path images) throws IOException, InterruptedException {
    Path hello = images.resolve("hello");
    Optional<Path> home = home();
    Path script = home.map(h -> h.resolve("examples").resolve("guest").resolve("build.sh")).orElse(null);
    if (script == null || !Files.isExecutable(script)) {
      return;
    }
    run(List.of(script.toString(), hello.toString()), null, "guest");
    if (!Files.isRegularFile(hello.resolve("vmlinux"))) {
      throw new IOException("the example guest build left no " + hello.resolve("vmlinux"));
    }
  }

  /**
   * Builds the example guest's closure from {@code images/hello}, pushes it to the cache at
   * {@code cacheUrl} with {@code pushToken}, and names it {@value #NAME} there; returns its store
   * path, or empty where there is no example guest. Safe to repeat: nix builds it once, and a
   * name that exists already is left as it is (whoever moved it meant to), so a rerun pushes nothing.
   *
   * @param work a folder of pctl's own for nix's settings
   */
  static Optional<String> publish(Path images, String cacheUrl, String pushToken, Path work) throws IOException, InterruptedException {
    Path hello = images.resolve("hello").toAbsolutePath();
    Optional<Path> expr = home().map(h -> h.resolve("examples").resolve("gitops").resolve("nix").resolve("guest.nix"));
    if (expr.isEmpty() || !Files.isRegularFile(expr.get()) || !Files.isRegularFile(hello.resolve("vmlinux"))) {
      return Optional.empty();
    }
    Path conf = work.resolve("nix");
    PrivateFiles.privateDirectory(conf);
    Path netrc = conf.resolve("netrc");
    PrivateFiles.write(netrc, "machine " + URI.create(cacheUrl).getHost() + " login nix password " + pushToken + "\n");
    // our own derivation, from this repository: built as the user pctl runs as, without build users
    Files.writeString(conf.resolve("nix.conf"), """
        experimental-features = nix-command
        build-users-group =
        sandbox = false
        substituters =
        narinfo-cache-negative-ttl = 0
        """ + "netrc-file = " + netrc + "\n");
    // the paths go in as strings, never as Nix text, whatever characters the data directory has
    String nixExpr = "{ guest, kernel, initrd }: import (/. + guest) { name = \"" + NAME + "\"; version = \"1\"; healthy = true;"
        + " kernel = /. + kernel; initrd = /. + initrd; }";
    String built = run(List.of("nix", "build", "--no-link", "--json", "--impure", "--expr", nixExpr,
        "--argstr", "guest", expr.get().toAbsolutePath().toString(), "--argstr", "kernel", hello.resolve("vmlinux").toString(),
        "--argstr", "initrd", hello.resolve("initrd.cpio.gz").toString()), conf, null);
    Matcher m = OUT.matcher(built);
    if (!m.find()) {
      throw new IOException("nix built the example guest's closure but named no output: " + built.strip());
    }
    String path = m.group(1);
    ClosureNames names = ClosureNames.at(cacheUrl, pushToken);
    Optional<String> named = names.resolve(NAME);
    if (named.isPresent()) {
      if (!named.get().equals(path)) {
        // someone named another closure hello: that is theirs to move, not a rerun's
        System.out.println("  guest: " + NAME + " stands for " + named.get() + " in the binary cache, not this example guest ("
            + path + "); leaving it (pctl closure name " + NAME + " " + path + " --push to use this one)");
      }
      return Optional.of(named.get());
    }
    String to = cacheUrl + (cacheUrl.contains("?") ? "&" : "?") + "compression=none";
    run(List.of("nix", "copy", "--to", to, path), conf, null);
    names.set(NAME, path);
    System.out.println("  guest: closure " + path + " is in the binary cache as " + NAME);
    return Optional.of(path);
  }

  private static Optional<Path> home() {
    String home = System.getProperty("procurator.home");
    return home == null ? Optional.empty() : Optional.of(Path.of(home));
  }

  /** Runs {@code cmd}; its output is printed under {@code label}, or returned when there is none. */
  private static String run(List<String> cmd, Path nixConf, String label) throws IOException, InterruptedException {
    ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(label != null);
    if (nixConf != null) {
      pb.environment().put("NIX_CONF_DIR", nixConf.toString());
      pb.environment().put("XDG_CACHE_HOME", nixConf.resolve("cache").toString());
    }
    Path err = Files.createTempFile("pctl-nix", ".log");
    try {
      if (label == null) {
        pb.redirectError(err.toFile());
      }
      Process p = pb.start();
      StringBuilder out = new StringBuilder();
      try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
        String line;
        while ((line = r.readLine()) != null) {
          if (label != null) {
            System.out.println("  " + label + ": " + line);
          } else {
            out.append(line).append('\n');
          }
        }
      }
      if (!p.waitFor(10, TimeUnit.MINUTES)) {
        p.destroyForcibly();
        throw new IOException(String.join(" ", cmd.subList(0, 2)) + " took longer than 10 minutes");
      }
      if (p.exitValue() != 0) {
        String msg = label == null ? Files.readString(err, StandardCharsets.UTF_8).strip() : "see the lines above";
        throw new IOException("making the example guest failed: " + cmd.get(0) + " " + cmd.get(1) + " exited " + p.exitValue() + ": "
            + msg.substring(Math.max(0, msg.length() - 600)));
      }
      return out.toString();
    } finally {
      Files.deleteIfExists(err);
    }
  }
}
