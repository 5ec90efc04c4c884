package dev.procurator.cachesrv;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.UUID;

/**
 * A binary cache on the local file system: {@code narinfo/}, {@code nar/}, {@code log/}, and
 * {@code tmp/} for uploads in progress. Files become visible only whole: written to tmp,
 * fsynced, renamed into place, and the directory fsynced, so a crash never leaves half a file
 * where nix could fetch it.
 */
public final class FileStore {
  private final Path root;

  public FileStore(Path root) throws IOException {
    this.root = root;
    for (String d : new String[] {"narinfo", "nar", "log", "tmp"}) {
      Files.createDirectories(root.resolve(d));
    }
  }

  public Path narinfo(String hashPart) {
    return root.resolve("narinfo").resolve(hashPart + ".narinfo");
  }

  public Path nar(String fileName) {
    return root.resolve("nar").resolve(fileName);
  }

  public Path log(String name) {
    return root.resolve("log").resolve(name);
  }

  public Path newTemp() {
    return root.resolve("tmp").resolve(UUID.randomUUID() + ".part");
  }

  /** Makes {@code temp} durable and moves it to {@code target} atomically. */
  public void commit(Path temp, Path target) throws IOException {
    try (FileChannel c = FileChannel.open(temp, StandardOpenOption.WRITE)) {
      c.force(true);
    }
    Files.move(temp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    try (FileChannel d = FileChannel.open(target.getParent(), StandardOpenOption.READ)) {
      d.force(true);
    } catch (IOException ignored) {
      // some file systems cannot fsync a directory; the rename is still atomic
    }
  }

  public void write(Path target, byte[] content) throws IOException {
    Path temp = newTemp();
    Files.write(temp, content);
    commit(temp, target);
  }
}
