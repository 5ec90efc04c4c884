package dev.procurator.nodeagent.vm;

import dev.procurator.api.v1alpha1.VMSpec;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.ReentrantLock;

/**
 * Turns a VM's boot source into files on this host: kernel and initrd paths (absolute, or relative
 * to the images directory), or a Nix closure whose {@code kernel}, {@code initrd} and {@code init}
 * are used, pulled from the binary cache with {@code nix copy --from} when it is not in the store.
 * Thread-safe; one pull per store path at a time.
 */
public final class BootResolver {
  /** Where a closure comes from: a binary cache URL, the key its narinfos are signed with, nix's environment. */
  public record NixCache(String url, String publicKey, Path nixConfDir) {}

  /** Files to boot. */
  public record BootFiles(Path kernel, Path initrd, String cmdline) {}

  /** The condition reason of a boot source that is not here. */
  public static final String MISSING = "BootSourceMissing";
  /** The condition reason of a boot file outside the roots a VM may boot from. */
  public static final String FORBIDDEN = "BootPathForbidden";
  /** The condition reason of a closure name the binary cache does not know. */
  public static final String NAME_NOT_FOUND = "ClosureNameNotFound";
  /**
   * The condition reason of a closure name the binary cache could not be asked about (down,
   * refusing, too slow): a passing state of the cache, not of this node, so the VM waits here.
   */
  public static final String CACHE_UNAVAILABLE = "BinaryCacheUnavailable";
  /** How many boot closures the node reports holding, most recently used first. */
  static final int HELD_LIMIT = 50;

  /** The boot source is not here and cannot be fetched, or may not be used; the message names the path. */
  public static final class MissingException extends Exception {
    private final String reason;

    public MissingException(String message) {
      this(MISSING, message);
    }

    public MissingException(String reason, String message) {
      super(message);
      this.reason = reason;
    }

    /** {@link #MISSING} or {@link #FORBIDDEN}. */
    public String reason() {
      return reason;
    }
  }

  private final Path imagesDir;
  private final NixCache cache;
  private final Duration pullTimeout;
  private final ConcurrentHashMap<String, ReentrantLock> pulls = new ConcurrentHashMap<>();
  /** Boot closures seen in this node's store, most recently used last, with the names they were resolved from. */
  private final java.util.LinkedHashMap<String, java.util.Set<String>> held = new java.util.LinkedHashMap<>(16, 0.75f, true);

  public BootResolver(Path imagesDir, NixCache cache, Duration pullTimeout) {
    this.imagesDir = imagesDir;
    this.cache = cache;
    this.pullTimeout = pullTimeout;
  }

  public Path imagesDir() {
    return imagesDir;
  }

  /** Whether this agent pulls closures from a binary cache. */
  public boolean hasCache() {
    return cache != null;
  }

  /**
   * Whether {@code boot} is on this host, must be resolved or pulled first, or cannot be had; looks
   * at files only. {@code boot} is the VM's boot source with its closure name resolved, when it has
   * been.
   */
  public Observation.Boot check(VMSpec.Boot boot) {
    if (boot.unresolved()) {
      return cache == null
          ? new Observation.Boot.Missing("closure name " + boot.closureName() + " cannot be resolved: the agent has no binary cache configured")
          : new Observation.Boot.Unresolved(boot.closureName());
    }
    if (boot.closure() != null && !Files.isDirectory(Path.of(boot.closure()))) {
      return cache == null
          ? new Observation.Boot.Missing("closure " + boot.closure() + " is not in this node's store and the agent has no binary cache configured")
          : new Observation.Boot.NeedsPull(boot.closure());
    }
    try {
      resolve(boot);
      if (boot.closure() != null) {
        held(boot.closure(), null); // names come only from the cache's answers
      }
      return new Observation.Boot.Present(boot.closure());
    } catch (MissingException e) {
      return new Observation.Boot.Missing(e.reason(), e.getMessage());
    }
  }

  /**
   * The store path the binary cache's name {@code name} stands for; blocks for one request to the
   * cache (at most its timeout): call it off the reconcile workers.
   *
   * @throws MissingException {@link #NAME_NOT_FOUND} when the cache has no such name, {@link
   *     #CACHE_UNAVAILABLE} when it cannot be asked, {@link #MISSING} when there is no cache
   */
  public String resolveName(String name) throws MissingException {
    if (cache == null) {
      throw new MissingException("closure name " + name + " cannot be resolved: the agent has no binary cache configured");
    }
    try {
      java.util.Optional<String> path = names().resolve(name);
      if (path.isEmpty()) {
        throw new MissingException(NAME_NOT_FOUND, "no closure is named " + name + " in the binary cache at " + redact(cache.url())
            + " (pctl closure list shows the names it has)");
      }
      held(path.get(), name);
      return path.get();
    } catch (IOException | IllegalArgumentException e) {
      throw new MissingException(CACHE_UNAVAILABLE, "closure name " + name + " could not be resolved: " + redact(String.valueOf(e.getMessage())));
    }
  }

  private volatile dev.procurator.api.nix.ClosureNames names;

  /** One client of the cache's names for the agent's life (each holds a connection pool and a thread). */
  private dev.procurator.api.nix.ClosureNames names() {
    dev.procurator.api.nix.ClosureNames n = names;
    if (n == null) {
      n = dev.procurator.api.nix.ClosureNames.at(cache.url(), null);
      names = n;
    }
    return n;
  }

  /** Records that {@code closure} is a boot closure this node uses, resolved from {@code name} (or null). */
  private void held(String closure, String name) {
    synchronized (held) {
      if (name != null) {
        held.forEach((path, names) -> {
          if (!path.equals(closure)) {
            names.remove(name); // a name stands for one closure: it moved
          }
        });
      }
      java.util.Set<String> names = held.computeIfAbsent(closure, k -> new java.util.TreeSet<>());
      if (name != null) {
        names.add(name);
      }
      while (held.size() > HELD_LIMIT) {
        held.remove(held.keySet().iterator().next());
      }
    }
  }

  /**
   * The boot closures this node has in its store, for its status, as Kubernetes reports a node's
   * container images: each under its store path and the closure names it was resolved from, with
   * the size of its kernel and initrd. Only closures this agent has booted or pulled: the
   * {@link #HELD_LIMIT} most recently used, sorted by store path.
   */
  public List<dev.procurator.api.v1alpha1.NodeStatus.Image> heldClosures() {
    List<java.util.Map.Entry<String, java.util.Set<String>>> entries;
    synchronized (held) {
      entries = new ArrayList<>();
      held.forEach((k, v) -> entries.add(java.util.Map.entry(k, java.util.Set.copyOf(v))));
    }
    entries.sort(java.util.Map.Entry.comparingByKey()); // one order whatever was used last, so the Node is not rewritten for nothing
    List<dev.procurator.api.v1alpha1.NodeStatus.Image> out = new ArrayList<>();
    for (var e : entries) {
      Path closure = Path.of(e.getKey());
      if (!Files.isDirectory(closure)) {
        continue; // collected from the store since
      }
      List<String> names = new ArrayList<>();
      names.add(e.getKey());
      names.addAll(new java.util.TreeSet<>(e.getValue()));
      long size = 0;
      for (String f : List.of("kernel", "initrd")) {
        try {
          size += Files.size(closure.resolve(f));
        } catch (IOException ignored) {
          // a closure without it is reported without its size
        }
      }
      out.add(new dev.procurator.api.v1alpha1.NodeStatus.Image(List.copyOf(names), size));
    }
    return out;
  }

  /** The files to boot; a closure must be in the store already ({@link #pull} it first), and a closure name resolved. */
  public BootFiles resolve(VMSpec.Boot boot) throws MissingException {
    if (boot.unresolved()) {
      throw new MissingException("closure name " + boot.closureName() + " is not resolved to a store path yet");
    }
    String cmdline = boot.cmdline() == null ? "console=ttyS0" : boot.cmdline();
    if (boot.closure() != null) {
      Path closure = Path.of(boot.closure());
      if (!Files.isDirectory(closure)) {
        throw new MissingException("closure " + closure + " is not in this node's store");
      }
      Path kernel = closure.resolve("kernel");
      Path initrd = closure.resolve("initrd");
      Path init = closure.resolve("init");
      for (Path p : List.of(kernel, initrd, init)) {
        if (!Files.exists(p)) {
          throw new MissingException("closure " + closure + " has no " + p.getFileName() + " (" + p + ")");
        }
      }
      return new BootFiles(confined("kernel", kernel), confined("initrd", initrd), closureCmdline(closure, init, cmdline));
    }
    if (boot.kernel() == null) {
      throw new MissingException("spec.boot names neither a closure nor a kernel");
    }
    Path kernel = local(boot.kernel());
    if (!Files.isRegularFile(kernel)) {
      throw new MissingException("kernel " + kernel + " does not exist");
    }
    Path initrd = boot.initrd() == null ? null : local(boot.initrd());
    if (initrd != null && !Files.isRegularFile(initrd)) {
      throw new MissingException("initrd " + initrd + " does not exist");
    }
    return new BootFiles(confined("kernel", kernel), initrd == null ? null : confined("initrd", initrd), cmdline);
  }

  /**
   * A closure's kernel command line, in NixOS's order: {@code init=}, then the closure's {@code
   * kernel-params} file (when it has one), then the VM's own {@code cmdline}, so that what the VM
   * says wins over what the closure says. (The runner appends the store disk's parameters last.)
   */
  static String closureCmdline(Path closure, Path init, String cmdline) throws MissingException {
    StringBuilder line = new StringBuilder("init=").append(init);
    Path params = closure.resolve("kernel-params");
    if (Files.isRegularFile(params)) {
      try {
        String p = Files.readString(params, StandardCharsets.UTF_8).strip().replaceAll("\\s+", " ");
        if (!p.isEmpty()) {
          line.append(' ').append(p);
        }
      } catch (IOException e) {
        throw new MissingException("closure " + closure + " has a kernel-params file that cannot be read: " + e.getMessage());
      }
    }
    return line.append(' ').append(cmdline).toString();
  }

  private Path local(String p) {
    Path path = Path.of(p);
    return path.isAbsolute() ? path : imagesDir.resolve(path).normalize();
  }

  /** The roots a VM may boot from: the images directory and the Nix store, as real paths. */
  private static final Path STORE = Path.of("/nix/store");

  /**
   * {@code file} with every symlink followed, if it lies under the images directory or the Nix
   * store; anything else ({@code ../pki/ca.key}, {@code /etc/shadow}, a symlink out) is refused, and
   * only the real path, never the one the VM named, reaches the hypervisor.
   */
  private Path confined(String what, Path file) throws MissingException {
    Path real;
    try {
      real = file.toRealPath();
    } catch (IOException e) {
      throw new MissingException(what + " " + file + " does not exist");
    }
    for (Path root : List.of(imagesDir, STORE)) {
      try {
        if (Files.isDirectory(root) && real.startsWith(root.toRealPath())) {
          return real;
        }
      } catch (IOException e) {
        // a root that cannot be resolved holds nothing
      }
    }
    throw new MissingException(FORBIDDEN, what + " " + file + " is outside the roots VMs may boot from (" + imagesDir + " and " + STORE
        + "); the agent will not hand it to the hypervisor");
  }

  /**
   * Copies {@code storePath}'s closure from the binary cache into the store with {@code nix copy
   * --from}, checking signatures; blocks until it is there or has failed (at most the pull
   * timeout): call it off the reconcile workers.
   */
  public void pull(String storePath) throws MissingException {
    if (cache == null) {
      throw new MissingException("closure " + storePath + " is not in this node's store and the agent has no binary cache configured");
    }
    ReentrantLock lock = pulls.computeIfAbsent(storePath, k -> new ReentrantLock());
    lock.lock();
    try {
      if (Files.isDirectory(Path.of(storePath))) {
        held(storePath, null);
        return;
      }
      List<String> cmd = new ArrayList<>(List.of("nix", "--extra-experimental-features", "nix-command", "copy",
          "--from", cache.url(), storePath));
      if (cache.publicKey() != null) {
        cmd.addAll(List.of("--option", "trusted-public-keys", cache.publicKey()));
      }
      ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
      if (cache.nixConfDir() != null) {
        pb.environment().put("NIX_CONF_DIR", cache.nixConfDir().toString());
      }
      // nix's output goes to a file, so the timeout holds even if nix keeps its output open
      Path log = Files.createTempFile("nix-copy", ".log");
      Process p;
      String msg;
      try {
        p = pb.redirectOutput(log.toFile()).start();
        if (!p.waitFor(pullTimeout.toSeconds(), TimeUnit.SECONDS)) {
          p.destroyForcibly();
          throw new MissingException("pulling closure " + storePath + " from " + redact(cache.url()) + " took longer than " + pullTimeout);
        }
        msg = tail(log, 4096);
      } finally {
        Files.deleteIfExists(log);
      }
      if (p.exitValue() != 0) {
        throw new MissingException("closure " + storePath + " could not be pulled from " + redact(cache.url()) + ": "
            + msg.substring(Math.max(0, msg.length() - 400)));
      }
    } catch (IOException e) {
      throw new MissingException("closure " + storePath + " could not be pulled: " + e.getMessage());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new MissingException("interrupted while pulling closure " + storePath);
    } finally {
      lock.unlock();
    }
  }

  private static String tail(Path file, int bytes) throws IOException {
    byte[] all = Files.readAllBytes(file);
    return new String(all, Math.max(0, all.length - bytes), Math.min(all.length, bytes), StandardCharsets.UTF_8).strip();
  }

  private static String redact(String url) {
    return url.replaceAll("//[^/@]*@", "//");
  }
}
