package dev.procurator.api.nix;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * Evaluation of user code with the nix client, away from the host: nix runs in a mount and PID
 * namespace of its own, chrooted into an empty tmpfs that shows only {@code /nix}, the host's tool
 * directories ({@code /usr}, {@code /bin}, {@code /lib}, {@code /lib64}, read-only), the few
 * {@code /etc} files name lookups and TLS need, and the paths the caller names (read-only or
 * writable, at the same place). No data directory, no {@code /root}, no {@code /var}, no other
 * process's {@code /proc}. Its address space is capped ({@code ulimit -v}), and its environment
 * is made from scratch: {@code PATH}, {@code HOME}, {@code XDG_CACHE_HOME}, {@code NIX_CONF_DIR},
 * {@code NIX_USER_CONF_FILES}, {@code USER} and the host's proxy settings, nothing else of the
 * caller's.
 *
 * <p>A flake evaluated here can name a path input outside its source ({@code path:/var/lib/…}), but
 * nix finds nothing there. As root the namespaces are the host's own; as another user they are
 * made in a user namespace that maps that user to itself (nix then reaches the store through its
 * daemon, whose socket is under {@code /nix}). Needs util-linux's {@code unshare} and coreutils'
 * {@code chroot}. Stateless and thread-safe.
 */
public final class NixJail {
  private NixJail() {}

  /** How long an evaluation may run (its whole process tree is killed then) and how much memory it may map (0: no cap). */
  public record Limits(Duration timeout, long memoryBytes) {
    public Limits {
      if (timeout == null || timeout.isNegative() || timeout.isZero()) {
        throw new IllegalArgumentException("an evaluation needs a positive timeout");
      }
      if (memoryBytes < 0) {
        throw new IllegalArgumentException("memoryBytes must not be negative");
      }
    }

    /** 5 minutes and 4 GiB: a cluster of NixOS systems evaluates well within both. */
    public static final Limits DEFAULT = new Limits(Duration.ofMinutes(5), 4L << 30);

    public String describeMemory() {
      return memoryBytes == 0 ? "no cap" : (memoryBytes >> 20) + " MiB";
    }
  }

  /** The {@code /etc} files a jailed nix may read: user names, host lookups, TLS roots. No secrets live there. */
  static final List<String> ETC = List.of("/etc/passwd", "/etc/group", "/etc/nsswitch.conf", "/etc/resolv.conf", "/etc/hosts",
      "/etc/ssl", "/etc/ca-certificates", "/etc/pki");

  /** The jail's setup, run by {@code sh -c} in the new namespaces: mounts, limits, then chroot. */
  private static final String SCRIPT = """
      set -eu
      root=$1; kb=$2; chroot=$3; shift 3
      mount -t tmpfs -o mode=0755 procurator-nix-jail "$root"
      mkdir -p "$root/nix" "$root/dev" "$root/proc" "$root/tmp" "$root/etc"
      chmod 1777 "$root/tmp"
      mount --rbind /nix "$root/nix"
      for d in /usr /bin /sbin /lib /lib64; do
        if [ -L "$d" ]; then ln -s "$(readlink "$d")" "$root$d"
        elif [ -d "$d" ]; then mkdir -p "$root$d"; mount --rbind "$d" "$root$d"; mount -o remount,bind,ro "$root$d"
        fi
      done
      for f in null zero full random urandom; do : > "$root/dev/$f"; mount --bind "/dev/$f" "$root/dev/$f"; done
      mount -t proc proc "$root/proc"
      while [ "$1" != -- ]; do
        mode=${1%%:*}; p=${1#*:}; shift
        if [ -d "$p" ]; then mkdir -p "$root$p"; elif [ -e "$p" ]; then mkdir -p "$root$(dirname "$p")"; : > "$root$p"; else continue; fi
        mount --rbind "$p" "$root$p"
        if [ "$mode" = ro ]; then mount -o remount,bind,ro "$root$p"; fi
      done
      shift
      if [ "$kb" != 0 ]; then ulimit -v "$kb"; fi
      exec "$chroot" "$root" "$@"
      """;

  /**
   * The command line that runs {@code cmd} jailed.
   *
   * @param root an empty folder the jail's tmpfs is mounted on (in the new namespace only)
   * @param readOnly paths shown read-only (a path under another shown path is shown with it)
   * @param writable paths shown writable
   * @param cmd the command; its first word is looked up on the caller's {@code PATH} and given by the real path of its folder
   */
  public static List<String> command(Path root, List<Path> readOnly, List<Path> writable, long memoryBytes, List<String> cmd) {
    List<String> out = new ArrayList<>(List.of(tool("unshare"), "--mount", "--pid", "--fork", "--propagation", "private"));
    if (!isRoot()) {
      out.add("--map-current-user");
    }
    out.addAll(List.of("/bin/sh", "-c", SCRIPT, "nix-jail", root.toAbsolutePath().toString(), Long.toString(memoryBytes >> 10),
        tool("chroot")));
    Map<Path, String> shown = new LinkedHashMap<>();
    ETC.forEach(e -> shown.put(Path.of(e), "ro"));
    readOnly.forEach(p -> shown.put(p.toAbsolutePath().normalize(), "ro"));
    writable.forEach(p -> shown.put(p.toAbsolutePath().normalize(), "rw"));
    List<Path> paths = new ArrayList<>(shown.keySet());
    paths.sort(Comparator.comparingInt(Path::getNameCount));
    List<Path> kept = new ArrayList<>();
    for (Path p : paths) {
      if (kept.stream().noneMatch(p::startsWith)) {
        kept.add(p);
        out.add(shown.get(p) + ":" + p);
      }
    }
    out.add("--");
    List<String> c = new ArrayList<>(cmd);
    c.set(0, tool(c.getFirst()));
    out.addAll(c);
    return out;
  }

  /**
   * The whole environment of a jailed nix: its {@code PATH} (the host's tool directories and where
   * the nix client and git really live), a private {@code HOME} and {@code XDG_CACHE_HOME}, and the
   * private configuration in {@code confDir} (no host or user nix.conf is read).
   */
  public static Map<String, String> environment(Path home, Path xdgCache, Path confDir) {
    Map<String, String> env = new LinkedHashMap<>();
    List<String> path = new ArrayList<>();
    for (String t : List.of("nix", "git")) {
      String found = tool(t);
      if (found.startsWith("/")) {
        String dir = Path.of(found).getParent().toString();
        if (!path.contains(dir)) {
          path.add(dir);
        }
      }
    }
    for (String d : List.of("/usr/bin", "/bin")) {
      if (!path.contains(d)) {
        path.add(d);
      }
    }
    env.put("PATH", String.join(":", path));
    env.put("HOME", home.toAbsolutePath().toString());
    env.put("XDG_CACHE_HOME", xdgCache.toAbsolutePath().toString());
    env.put("NIX_CONF_DIR", confDir.toAbsolutePath().toString());
    env.put("NIX_USER_CONF_FILES", confDir.resolve("nix.conf").toAbsolutePath().toString());
    env.put("USER", System.getProperty("user.name", "root"));
    env.putAll(proxySettings());
    return env;
  }

  /** The proxy variables of this process ({@code http_proxy}, {@code no_proxy}, …): how the host reaches the network, which nix needs too. */
  public static Map<String, String> proxySettings() {
    Map<String, String> out = new LinkedHashMap<>();
    for (String v : List.of("http_proxy", "https_proxy", "all_proxy", "no_proxy")) {
      for (String name : List.of(v, v.toUpperCase(Locale.ROOT))) {
        String value = System.getenv(name);
        if (value != null) {
          out.put(name, value);
        }
      }
    }
    return out;
  }

  /**
   * The settings every evaluation of user code runs with: pure, restricted, no import from
   * derivation, no fetching by URL, no flake registry from the network, no flake-supplied settings,
   * nothing run on the host during evaluation.
   */
  public static final String EVAL_CONF = """
      experimental-features = nix-command flakes
      pure-eval = true
      restrict-eval = true
      allow-import-from-derivation = false
      allowed-uris =
      allow-unsafe-native-code-during-evaluation = false
      accept-flake-config = false
      flake-registry =
      substituters =
      build-users-group =
      sandbox = true
      sandbox-fallback = false
      warn-dirty = false
      """;

  /** What a jailed command left. */
  public record Outcome(int code, String stdout, String stderr, boolean timedOut) {
    /** Whether nix gave up for want of memory (the jail's cap). */
    public boolean outOfMemory() {
      String e = stderr.toLowerCase(Locale.ROOT);
      return code != 0 && (e.contains("error: out of memory") || e.contains("out of memory!") || e.contains("std::bad_alloc"));
    }
  }

  /**
   * Runs {@code cmd} jailed in {@code work} (created if needed; {@code work/root} is the jail's
   * mount point, {@code work/home} its {@code HOME}), its output captured in files there, its whole
   * process tree killed at the timeout.
   */
  public static Outcome run(Path work, Path confDir, Path xdgCache, List<Path> readOnly, List<Path> writable, Limits limits, List<String> cmd)
      throws IOException, InterruptedException {
    Path root = work.resolve("root");
    Path home = work.resolve("home");
    Files.createDirectories(root);
    Files.createDirectories(home);
    Files.createDirectories(xdgCache);
    Path out = Files.createTempFile(work, "out", ".txt");
    Path err = Files.createTempFile(work, "err", ".txt");
    List<Path> rw = new ArrayList<>(writable);
    rw.addAll(List.of(home, xdgCache));
    List<Path> ro = new ArrayList<>(readOnly);
    ro.add(confDir);
    try {
      ProcessBuilder pb = new ProcessBuilder(command(root, ro, rw, limits.memoryBytes(), cmd)).redirectOutput(out.toFile())
          .redirectError(err.toFile()).redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")));
      pb.environment().clear();
      pb.environment().putAll(environment(home, xdgCache, confDir));
      Process p = pb.start();
      if (!p.waitFor(limits.timeout().toMillis(), TimeUnit.MILLISECONDS)) {
        kill(p);
        return new Outcome(-1, "", Files.readString(err, StandardCharsets.UTF_8), true);
      }
      return new Outcome(p.exitValue(), Files.readString(out, StandardCharsets.UTF_8), Files.readString(err, StandardCharsets.UTF_8), false);
    } finally {
      Files.deleteIfExists(out);
      Files.deleteIfExists(err);
    }
  }

  /** Kills a process and everything it started. */
  public static void kill(Process p) {
    p.descendants().forEach(ProcessHandle::destroyForcibly);
    p.destroyForcibly();
  }

  static boolean isRoot() {
    try {
      return ((Number) Files.getAttribute(Path.of("/proc/self"), "unix:uid")).intValue() == 0;
    } catch (IOException | UnsupportedOperationException e) {
      return false;
    }
  }

  /**
   * A command on this process's {@code PATH}, as the real path of its folder and its own name (a
   * multi-call binary such as {@code nix-store} keeps the name it acts on; a folder that is a link
   * out of the jail, such as NixOS's {@code /run/current-system/sw/bin}, is followed into the
   * store); the name itself when none is found.
   */
  static String tool(String name) {
    if (name.contains("/")) {
      return name;
    }
    String path = System.getenv("PATH");
    for (String dir : (path == null ? "/usr/bin:/bin:/usr/sbin:/sbin" : path + ":/usr/sbin:/sbin").split(":")) {
      Path c = Path.of(dir.isEmpty() ? "." : dir, name);
      if (Files.isExecutable(c) && !Files.isDirectory(c)) {
        try {
          return c.getParent().toRealPath().resolve(name).toString();
        } catch (IOException e) {
          return c.toAbsolutePath().toString();
        }
      }
    }
    return name;
  }
}
