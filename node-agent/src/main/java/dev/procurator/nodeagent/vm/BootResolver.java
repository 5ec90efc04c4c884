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

  public BootResolver(Path imagesDir, NixCache cache, Duration pullTimeout) {
    this.imagesDir = imagesDir;
    this.cache = cache;
    this.pullTimeout = pullTimeout;
  }

  public Path imagesDir() {
    return imagesDir;
  }

  /** Whether {@code boot} is on this host, must be pulled first, or cannot be had; looks at files only. */
  public Observation.Boot check(VMSpec.Boot boot) {
    if (boot.closure() != null && !Files.isDirectory(Path.of(boot.closure()))) {
      return cache == null
          ? new Observation.Boot.Missing("closure " + boot.closure() + " is not in this node's store and the agent has no binary cache configured")
          : new Observation.Boot.NeedsPull(boot.closure());
    }
    try {
      resolve(boot);
      return new Observation.Boot.Present();
    } catch (MissingException e) {
      return new Observation.Boot.Missing(e.reason(), e.getMessage());
    }
  }

  /** The files to boot; a closure must be in the store already ({@link #pull} it first). */
  public BootFiles resolve(VMSpec.Boot boot) throws MissingException {
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
      return new BootFiles(confined("kernel", kernel), confined("initrd", initrd), cmdline + " init=" + init);
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
