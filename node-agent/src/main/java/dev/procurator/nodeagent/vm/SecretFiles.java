package dev.procurator.nodeagent.vm;

import dev.procurator.api.files.PrivateFiles;
import dev.procurator.api.runtime.ObjectKey;
import dev.procurator.api.v1alpha1.SecretSpec;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Comparator;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;

/**
 * The files a VM's Secrets become on this host, one folder per mounted Secret, shared read-only
 * into the guest: a file per key (its value, mode 0400) and {@code .env} with {@code KEY=value}
 * lines for the keys that are valid variable names. The root should be a tmpfs (the agent uses
 * {@code /dev/shm}), so that values never reach a disk. A changed value replaces its file by
 * rename, so the guest never reads half of one. Thread-safe per VM.
 */
public final class SecretFiles {
  private final Path root;

  public SecretFiles(Path root) {
    this.root = root;
  }

  /**
   * The Secrets of this agent's VMs in a private folder under {@code base} (the agent uses
   * {@code /dev/shm}): made as {@code mkdtemp(3)} makes one, with a random name and mode 0700, so
   * nobody can have made it, or a link of that name, beforehand. Its path is kept in
   * {@code record} so that the agent finds it again after a restart (the VMs it adopts share it);
   * a recorded folder is reused only while it is still a folder of {@code base} (not a link),
   * this user's, and 0700. Anything else gets a new folder.
   */
  public static SecretFiles inPrivateFolder(Path base, Path record) throws IOException {
    if (Files.isRegularFile(record, LinkOption.NOFOLLOW_LINKS)) {
      Path kept = Path.of(Files.readString(record, StandardCharsets.UTF_8).strip());
      if (kept.isAbsolute() && base.toAbsolutePath().equals(kept.getParent())
          && kept.getFileName().toString().startsWith(PREFIX)
          && Files.isDirectory(kept, LinkOption.NOFOLLOW_LINKS)
          && Files.getAttribute(kept, "unix:uid", LinkOption.NOFOLLOW_LINKS).equals(Files.getAttribute(record, "unix:uid"))
          && Files.getPosixFilePermissions(kept, LinkOption.NOFOLLOW_LINKS).equals(PrivateFiles.OWNER_ONLY_DIRECTORY)) {
        return new SecretFiles(kept);
      }
    }
    Path made = PrivateFiles.createTempDirectory(base.toAbsolutePath(), PREFIX);
    PrivateFiles.write(record, made + "\n");
    return new SecretFiles(made);
  }

  private static final String PREFIX = "procurator-secrets-";

  public Path root() {
    return root;
  }

  /** The folder of the {@code index}-th Secret of {@code vm}. */
  public Path dir(ObjectKey vm, int index) {
    return root.resolve(vm.namespace()).resolve(vm.name()).resolve(Integer.toString(index));
  }

  /** Makes the folder hold exactly {@code data}; writes only what changed. Returns whether anything did. */
  public synchronized boolean write(ObjectKey vm, int index, Map<String, byte[]> data) throws IOException {
    Path dir = dir(vm, index);
    PrivateFiles.createDirectories(dir);
    Map<String, byte[]> want = new TreeMap<>();
    data.forEach((k, v) -> {
      // the API refuses such keys; one stored before it did is left out rather than written as ".." or "."
      if (SecretSpec.keyProblems(k).isEmpty()) {
        want.put(k, v);
      }
    });
    StringBuilder env = new StringBuilder();
    want.forEach((k, v) -> {
      if (k.matches("[A-Za-z_][A-Za-z0-9_]*")) {
        env.append(k).append('=').append(quote(new String(v, StandardCharsets.UTF_8))).append('\n');
      }
    });
    Map<String, byte[]> files = new TreeMap<>(want);
    files.put(".env", env.toString().getBytes(StandardCharsets.UTF_8));
    boolean changed = false;
    try (Stream<Path> present = Files.list(dir)) {
      for (Path p : present.toList()) {
        String name = p.getFileName().toString();
        if (!files.containsKey(name)) {
          Files.deleteIfExists(p);
          changed = true;
        }
      }
    }
    for (Map.Entry<String, byte[]> e : files.entrySet()) {
      Path target = dir.resolve(e.getKey());
      if (Files.isRegularFile(target) && Arrays.equals(Files.readAllBytes(target), e.getValue())) {
        continue;
      }
      PrivateFiles.write(target, e.getValue(), PrivateFiles.OWNER_READ);
      changed = true;
    }
    return changed;
  }

  /** Removes every file of {@code vm}. */
  public synchronized void remove(ObjectKey vm) throws IOException {
    Path dir = root.resolve(vm.namespace()).resolve(vm.name());
    if (!Files.exists(dir)) {
      return;
    }
    try (Stream<Path> walk = Files.walk(dir)) {
      for (Path p : walk.sorted(Comparator.reverseOrder()).toList()) {
        Files.deleteIfExists(p);
      }
    }
  }

  /**
   * Removes the folders that hold no file, the root too when nothing is left: what an agent that
   * stops leaves behind is only what VMs that keep running still share.
   */
  public synchronized void removeEmptyFolders() throws IOException {
    if (!Files.isDirectory(root, LinkOption.NOFOLLOW_LINKS)) {
      return;
    }
    try (Stream<Path> walk = Files.walk(root)) {
      for (Path p : walk.sorted(Comparator.reverseOrder()).toList()) {
        if (Files.isDirectory(p, LinkOption.NOFOLLOW_LINKS)) {
          try (Stream<Path> inside = Files.list(p)) {
            if (inside.findAny().isEmpty()) {
              Files.delete(p);
            }
          }
        }
      }
    }
  }

  /** A value as an env-file line keeps it: single quotes, with a quote inside written as '\''. */
  static String quote(String v) {
    return "'" + v.replace("'", "'\\''") + "'";
  }
}
