package dev.procurator.cachesrv;

import java.io.IOException;
import java.io.InputStream;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.stream.Stream;

/**
 * A binary cache on the local file system: {@code narinfo/}, {@code nar/}, {@code log/}, and
 * {@code tmp/} for uploads in progress. Files become visible only whole: written to tmp,
 * fsynced, renamed into place, and the directory fsynced, so a crash never leaves half a file
 * where nix could fetch it.
 */
public final class FileStore implements BlobStore {
  private final Path root;

  public FileStore(Path root) throws IOException {
    this.root = root;
    for (String d : new String[] {"narinfo", "nar", "log", "tmp"}) {
      Files.createDirectories(root.resolve(d));
    }
  }

  private Path path(String key) {
    if (key.contains("..") || key.startsWith("/")) {
      throw new IllegalArgumentException("bad key " + key);
    }
    return root.resolve(key);
  }

  @Override
  public Path localFile(String key) {
    return path(key);
  }

  @Override
  public Path scratch() {
    return root.resolve("tmp");
  }

  public Path newTemp() {
    return scratch().resolve(UUID.randomUUID() + ".part");
  }

  @Override
  public long size(String key) throws IOException {
    try {
      return Files.size(path(key));
    } catch (NoSuchFileException e) {
      return -1;
    }
  }

  @Override
  public InputStream open(String key, long offset, long length) throws IOException {
    FileChannel c = FileChannel.open(path(key), StandardOpenOption.READ);
    c.position(offset);
    return new java.io.BufferedInputStream(Channels.newInputStream(c), 256 * 1024) {
      private long left = length;

      @Override
      public synchronized int read() throws IOException {
        if (left <= 0) {
          return -1;
        }
        int b = super.read();
        if (b >= 0) {
          left--;
        }
        return b;
      }

      @Override
      public synchronized int read(byte[] buf, int off, int len) throws IOException {
        if (left <= 0) {
          return -1;
        }
        int n = super.read(buf, off, (int) Math.min(len, left));
        if (n > 0) {
          left -= n;
        }
        return n;
      }
    };
  }

  @Override
  public byte[] read(String key) throws IOException {
    try {
      return Files.readAllBytes(path(key));
    } catch (NoSuchFileException e) {
      return null;
    }
  }

  @Override
  public void put(String key, Path file) throws IOException {
    Path target = path(key);
    Files.createDirectories(target.getParent());
    commit(file, target);
  }

  @Override
  public void put(String key, byte[] content) throws IOException {
    Path temp = newTemp();
    Files.write(temp, content);
    put(key, temp);
  }

  @Override
  public boolean create(String key, byte[] content) throws IOException {
    Path target = path(key);
    Files.createDirectories(target.getParent());
    Path temp = newTemp();
    try {
      Files.write(temp, content);
      try (FileChannel c = FileChannel.open(temp, StandardOpenOption.WRITE)) {
        c.force(true);
      }
      // link(2) fails if the name exists, where rename(2) would replace it
      Files.createLink(target, temp);
    } catch (FileAlreadyExistsException e) {
      return false;
    } finally {
      Files.deleteIfExists(temp);
    }
    syncDirectory(target.getParent());
    return true;
  }

  @Override
  public void delete(String key) throws IOException {
    Files.deleteIfExists(path(key));
  }

  @Override
  public List<String> list(String prefix) throws IOException {
    int slash = prefix.lastIndexOf('/');
    Path dir = slash < 0 ? root : root.resolve(prefix.substring(0, slash));
    List<String> out = new ArrayList<>();
    if (!Files.isDirectory(dir)) {
      return out;
    }
    try (Stream<Path> files = Files.list(dir)) {
      files.filter(Files::isRegularFile).forEach(f -> {
        String key = root.relativize(f).toString();
        if (key.startsWith(prefix)) {
          out.add(key);
        }
      });
    }
    return out;
  }

  /** Makes {@code temp} durable and moves it to {@code target} atomically. */
  private static void commit(Path temp, Path target) throws IOException {
    try (FileChannel c = FileChannel.open(temp, StandardOpenOption.WRITE)) {
      c.force(true);
    }
    Files.move(temp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    syncDirectory(target.getParent());
  }

  private static void syncDirectory(Path dir) {
    try (FileChannel d = FileChannel.open(dir, StandardOpenOption.READ)) {
      d.force(true);
    } catch (IOException ignored) {
      // some file systems cannot fsync a directory; the rename (or link) is still atomic
    }
  }
}
