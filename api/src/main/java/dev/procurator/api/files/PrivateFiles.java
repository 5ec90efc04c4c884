package dev.procurator.api.files;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.FileAttribute;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;
import java.util.EnumSet;
import java.util.HexFormat;
import java.util.Set;

/**
 * Files and folders only their owner may open. Each is created with its permissions in the same
 * system call that creates it ({@code open(2)} with {@code O_CREAT|O_EXCL} and mode 0600,
 * {@code mkdir(2)} with mode 0700), never written first and restricted afterwards, so there is no
 * moment at which another user could open it. A file's content is replaced by writing a new file
 * with a random name beside it, syncing it, and renaming it over the old one: a reader sees the
 * old content or the new, never half of it, and a crash leaves one or the other.
 *
 * <p>Stateless and thread-safe. On a file system without POSIX permissions the files and folders
 * are made with that file system's defaults.
 */
public final class PrivateFiles {
  /** {@code rw-------}: keys, tokens, kubeconfigs, the embedded store. */
  public static final Set<PosixFilePermission> OWNER_READ_WRITE = PosixFilePermissions.fromString("rw-------");
  /** {@code r--------}: values nothing should change in place (a VM's Secrets on its host). */
  public static final Set<PosixFilePermission> OWNER_READ = PosixFilePermissions.fromString("r--------");
  /** {@code rwx------}: data directories and private temporary folders. */
  public static final Set<PosixFilePermission> OWNER_ONLY_DIRECTORY = PosixFilePermissions.fromString("rwx------");

  private static final SecureRandom RANDOM = new SecureRandom();

  private PrivateFiles() {}

  /** Writes {@code content} (UTF-8) to {@code file}, mode 0600, atomically; see {@link #write(Path, byte[], Set)}. */
  public static void write(Path file, String content) throws IOException {
    write(file, content.getBytes(StandardCharsets.UTF_8), OWNER_READ_WRITE);
  }

  /** Writes {@code content} to {@code file}, mode 0600, atomically; see {@link #write(Path, byte[], Set)}. */
  public static void write(Path file, byte[] content) throws IOException {
    write(file, content, OWNER_READ_WRITE);
  }

  /**
   * Makes {@code file} hold {@code content} with permissions {@code mode} (owner bits only): a new
   * file is created beside it with that mode, filled, synced and renamed over it. Missing parent
   * folders are created 0700.
   */
  public static void write(Path file, byte[] content, Set<PosixFilePermission> mode) throws IOException {
    Path dir = file.toAbsolutePath().getParent();
    if (!Files.isDirectory(dir)) {
      createDirectories(dir);
    }
    Path temp;
    FileChannel channel;
    while (true) {
      byte[] suffix = new byte[6];
      RANDOM.nextBytes(suffix);
      temp = dir.resolve("." + file.getFileName() + "." + HexFormat.of().formatHex(suffix) + ".tmp");
      try {
        // written through the channel that created it: a 0400 file cannot be opened for writing again
        channel = FileChannel.open(temp, EnumSet.of(StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE), attributes(temp, mode));
        break;
      } catch (FileAlreadyExistsException taken) {
        // another name
      }
    }
    try {
      try (FileChannel c = channel) {
        ByteBuffer b = ByteBuffer.wrap(content);
        while (b.hasRemaining()) {
          c.write(b);
        }
        c.force(true);
      }
      Files.move(temp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    } catch (IOException | RuntimeException e) {
      Files.deleteIfExists(temp);
      throw e;
    }
    try (FileChannel d = FileChannel.open(dir, StandardOpenOption.READ)) {
      d.force(true);
    } catch (IOException ignored) {
      // some file systems cannot sync a directory; the rename is atomic all the same
    }
  }

  /** Creates {@code file} empty with mode 0600 unless it exists; returns whether it was created. */
  public static boolean createFile(Path file) throws IOException {
    try {
      Files.createFile(file, attributes(file, OWNER_READ_WRITE));
      return true;
    } catch (FileAlreadyExistsException e) {
      return false;
    }
  }

  /**
   * Creates {@code dir} and each missing parent with mode 0700, each in one {@code mkdir(2)};
   * folders that exist are left as they are.
   */
  public static Path createDirectories(Path dir) throws IOException {
    Path absolute = dir.toAbsolutePath();
    if (Files.isDirectory(absolute)) {
      return dir;
    }
    Path parent = absolute.getParent();
    if (parent != null && !Files.exists(parent)) {
      createDirectories(parent);
    }
    try {
      Files.createDirectory(absolute, attributes(absolute, OWNER_ONLY_DIRECTORY));
    } catch (FileAlreadyExistsException e) {
      if (!Files.isDirectory(absolute)) {
        throw e;
      }
    }
    return dir;
  }

  /**
   * Makes {@code dir} a folder only its owner may enter: created 0700 (with missing parents) when
   * absent, and tightened to 0700 when it exists and lets its group or others in. Returns whether
   * an existing folder was tightened.
   */
  public static boolean privateDirectory(Path dir) throws IOException {
    createDirectories(dir);
    return restrict(dir, OWNER_ONLY_DIRECTORY);
  }

  /**
   * Takes every permission of group and others away from an existing {@code path}, leaving it
   * {@code mode}; a path that grants them none is left alone. Returns whether it changed. For
   * files made before their maker created them private.
   */
  public static boolean restrict(Path path, Set<PosixFilePermission> mode) throws IOException {
    if (!posix(path)) {
      return false;
    }
    Set<PosixFilePermission> now = Files.getPosixFilePermissions(path);
    boolean open = now.stream().anyMatch(p -> !p.name().startsWith("OWNER_"));
    if (!open) {
      return false;
    }
    Files.setPosixFilePermissions(path, mode);
    return true;
  }

  /**
   * A new folder in {@code parent} with a random name starting with {@code prefix}, mode 0700, as
   * {@code mkdtemp(3)} makes one: nobody can have made it, or a link of that name, beforehand.
   */
  public static Path createTempDirectory(Path parent, String prefix) throws IOException {
    return Files.createTempDirectory(parent, prefix, attributes(parent, OWNER_ONLY_DIRECTORY));
  }

  private static boolean posix(Path p) {
    return p.getFileSystem().supportedFileAttributeViews().contains("posix");
  }

  private static FileAttribute<?>[] attributes(Path p, Set<PosixFilePermission> mode) {
    return posix(p) ? new FileAttribute<?>[] {PosixFilePermissions.asFileAttribute(mode)} : new FileAttribute<?>[0];
  }
}
