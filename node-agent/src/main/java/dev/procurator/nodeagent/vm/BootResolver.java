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

  /** The boot source is not here and cannot be fetched; the message names the path. */
  public static final class MissingException extends Exception {
    public MissingException(String message) {
      super(message);
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

  /** Whether resolving {@code boot} may take long (a closure that must be pulled first). */
  public boolean needsPull(VMSpec.Boot boot) {
    return boot.closure() != null && !Files.isDirectory(Path.of(boot.closure()));
  }

  public BootFiles resolve(VMSpec.Boot boot) throws MissingException {
    String cmdline = boot.cmdline() == null ? "console=ttyS0" : boot.cmdline();
    if (boot.closure() != null) {
      Path closure = Path.of(boot.closure());
      if (!Files.isDirectory(closure)) {
        pull(boot.closure());
      }
      Path kernel = closure.resolve("kernel");
      Path initrd = closure.resolve("initrd");
      Path init = closure.resolve("init");
      for (Path p : List.of(kernel, initrd, init)) {
        if (!Files.exists(p)) {
          throw new MissingException("closure " + closure + " has no " + p.getFileName() + " (" + p + ")");
        }
      }
      return new BootFiles(kernel, initrd, cmdline + " init=" + init);
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
    return new BootFiles(kernel, initrd, cmdline);
  }

  private Path local(String p) {
    Path path = Path.of(p);
    return path.isAbsolute() ? path : imagesDir.resolve(path).normalize();
  }

  private void pull(String storePath) throws MissingException {
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
      Process p = pb.start();
      byte[] out = p.getInputStream().readAllBytes();
      if (!p.waitFor(pullTimeout.toSeconds(), TimeUnit.SECONDS)) {
        p.destroyForcibly();
        throw new MissingException("pulling closure " + storePath + " from " + redact(cache.url()) + " took longer than " + pullTimeout);
      }
      if (p.exitValue() != 0) {
        String msg = new String(out, StandardCharsets.UTF_8).strip();
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

  private static String redact(String url) {
    return url.replaceAll("//[^/@]*@", "//");
  }
}
