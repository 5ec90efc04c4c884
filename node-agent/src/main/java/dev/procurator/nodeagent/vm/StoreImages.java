package dev.procurator.nodeagent.vm;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.FileTime;
import java.nio.file.attribute.PosixFilePermission;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.ReentrantLock;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The Nix store a VM's guest sees: exactly its closure's store paths, read-only. Per closure, an
 * erofs image ({@code mkfs.erofs}) in this agent's {@code store-images} folder, named by the
 * closure's hash, built once (into a temporary file, then renamed) and attached to every VM of that
 * closure as a disk. When no image can be made (no {@code mkfs.erofs}, or it failed), a VM gets a
 * {@linkplain #view view} instead: a folder of hard links to the closure's files (copies where a
 * link cannot be made), shared over 9p.
 *
 * <p>An image goes when its closure is no longer in the store (collected), or when no VM on this
 * node has booted it for {@link Settings#keepUnused} (its modification time is its last use, set at
 * every boot): see {@link #sweep}.
 *
 * <p>Thread-safe; one build per closure at a time.
 */
public final class StoreImages {
  private static final Logger log = LoggerFactory.getLogger(StoreImages.class);
  private static final String SUFFIX = ".erofs";
  private static final String TEMP = ".tmp-";

  /**
   * @param mkfs the {@code mkfs.erofs} to run (a name looked up on the PATH, or a path); null: never build images, share views
   * @param keepUnused how long an image no VM here boots is kept
   * @param buildTimeout how long listing a closure and building its image may take
   */
  public record Settings(String mkfs, Duration keepUnused, Duration buildTimeout) {
    public static Settings defaults() {
      return new Settings("mkfs.erofs", Duration.ofHours(1), Duration.ofMinutes(10));
    }

    /** No images: every VM gets a view of its closure over 9p. */
    public Settings withoutImages() {
      return new Settings(null, keepUnused, buildTimeout);
    }
  }

  /** What a closure's guest mounts at /nix/store. */
  public sealed interface Store {
    /** The closure's erofs image, attached read-only as a virtio-blk disk. */
    record Image(Path file) implements Store {}

    /** No image could be made, for {@code reason}: the VM gets a view of its closure over 9p. */
    record Unavailable(String reason) implements Store {}
  }

  private final Path dir;
  private final Settings settings;
  private final Clock clock;
  private final ConcurrentHashMap<String, ReentrantLock> builds = new ConcurrentHashMap<>();
  /** Closures whose image could not be made, and why; forgotten by {@link #sweep}. */
  private final Map<String, Store.Unavailable> failed = new ConcurrentHashMap<>();

  public StoreImages(Path dir, Settings settings, Clock clock) {
    this.dir = dir;
    this.settings = settings;
    this.clock = clock;
  }

  /** The image of {@code closure}, whether it exists or not. */
  public Path imageOf(String closure) {
    return dir.resolve(hashOf(closure) + SUFFIX);
  }

  /** The hash part of a store path ({@code /nix/store/HASH-name} → {@code HASH}). */
  static String hashOf(String closure) {
    String base = Path.of(closure).getFileName().toString();
    int dash = base.indexOf('-');
    String hash = dash > 0 ? base.substring(0, dash) : base;
    if (!hash.matches("[0-9a-z]{1,64}")) {
      throw new IllegalArgumentException("not a store path: " + closure);
    }
    return hash;
  }

  /**
   * What {@code closure}'s guests get, if that is settled without building anything: its image when
   * it is built, or why none can be; empty when it must be {@linkplain #prepare prepared} first.
   */
  public Optional<Store> prepared(String closure) {
    Store.Unavailable no = failed.get(closure);
    if (no != null) {
      return Optional.of(no);
    }
    if (settings.mkfs() == null) {
      return Optional.of(new Store.Unavailable("the agent builds no store images"));
    }
    Path image = imageOf(closure);
    return Files.isRegularFile(image) ? Optional.of(new Store.Image(image)) : Optional.empty();
  }

  /**
   * Builds {@code closure}'s image unless it is there, and marks it used now; blocks for the build
   * (at most {@link Settings#buildTimeout} per step): call it off the reconcile workers.
   */
  public Store prepare(String closure) {
    Optional<Store> done = prepared(closure);
    if (done.isPresent()) {
      return used(done.get());
    }
    ReentrantLock lock = builds.computeIfAbsent(closure, k -> new ReentrantLock());
    lock.lock();
    try {
      done = prepared(closure);
      if (done.isPresent()) {
        return used(done.get()); // built while this one waited
      }
      Instant started = clock.instant();
      try {
        Path image = build(closure);
        log.info("built the store image of {} in {} ms ({} bytes)", closure, Duration.between(started, clock.instant()).toMillis(),
            Files.size(image));
        return new Store.Image(image);
      } catch (IOException e) {
        Store.Unavailable no = new Store.Unavailable(e.getMessage());
        failed.put(closure, no);
        log.warn("no store image for {}: {}; its VMs get its store over 9p", closure, e.getMessage());
        return no;
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return new Store.Unavailable("interrupted while building the store image");
      }
    } finally {
      lock.unlock();
    }
  }

  private Store used(Store s) {
    if (s instanceof Store.Image i) {
      try {
        Files.setLastModifiedTime(i.file(), FileTime.from(clock.instant()));
      } catch (IOException e) {
        // a sweep took it meanwhile: the next boot builds it again
      }
    }
    return s;
  }

  private Path build(String closure) throws IOException, InterruptedException {
    Files.createDirectories(dir);
    List<String> paths = requisites(closure, settings.buildTimeout());
    String hash = hashOf(closure);
    Path stage = Files.createTempDirectory(dir, TEMP + hash + "-stage-");
    Path tmp = dir.resolve(TEMP + hash + "-" + Long.toHexString(System.nanoTime()) + SUFFIX);
    try {
      view(paths, stage);
      run(List.of(settings.mkfs(), "--quiet", "--all-root", "-T0", tmp.toString(), stage.toString()), settings.buildTimeout());
      Path image = imageOf(closure);
      Files.move(tmp, image, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
      return image;
    } finally {
      delete(stage);
      Files.deleteIfExists(tmp);
    }
  }

  /** The store paths of {@code closure}'s closure ({@code nix-store --query --requisites}), itself included. */
  public static List<String> requisites(String closure, Duration timeout) throws IOException, InterruptedException {
    String out = run(List.of("nix-store", "--query", "--requisites", closure), timeout);
    List<String> paths = out.lines().map(String::strip).filter(l -> l.startsWith("/")).toList();
    if (!paths.contains(closure)) {
      throw new IOException("nix-store did not list " + closure + " in its own closure: " + out);
    }
    return paths;
  }

  private static String run(List<String> cmd, Duration timeout) throws IOException, InterruptedException {
    Path log = Files.createTempFile("store-image", ".log");
    try {
      Process p;
      try {
        p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile()).start();
      } catch (IOException e) {
        throw new IOException(cmd.get(0) + " cannot be run: " + e.getMessage(), e);
      }
      if (!p.waitFor(timeout.toSeconds(), TimeUnit.SECONDS)) {
        p.destroyForcibly();
        throw new IOException(cmd.get(0) + " took longer than " + timeout);
      }
      String out = Files.readString(log, StandardCharsets.UTF_8);
      if (p.exitValue() != 0) {
        throw new IOException(cmd.get(0) + " failed (exit " + p.exitValue() + "): " + out.substring(Math.max(0, out.length() - 400)).strip());
      }
      return out;
    } finally {
      Files.deleteIfExists(log);
    }
  }

  /**
   * Fills {@code target} with {@code storePaths} (each under its base name): directories made anew
   * with their modes, files hard-linked (copied where a link cannot be made), symlinks as they are.
   * Nothing in it leads out: a symlink is read by the guest, in the guest's own store.
   */
  public static void view(List<String> storePaths, Path target) throws IOException {
    Files.createDirectories(target);
    for (String p : storePaths) {
      Path src = Path.of(p);
      copyTree(src, target.resolve(src.getFileName().toString()));
    }
  }

  private static void copyTree(Path src, Path dst) throws IOException {
    List<Path> dirs = new ArrayList<>();
    try (Stream<Path> walk = Files.walk(src)) {
      for (Path s : (Iterable<Path>) walk::iterator) {
        Path d = dst.resolve(src.relativize(s).toString());
        if (Files.isSymbolicLink(s)) {
          Files.createSymbolicLink(d, Files.readSymbolicLink(s));
        } else if (Files.isDirectory(s, LinkOption.NOFOLLOW_LINKS)) {
          Files.createDirectory(d);
          dirs.add(s);
        } else {
          try {
            Files.createLink(d, s);
          } catch (FileAlreadyExistsException e) {
            throw e;
          } catch (FileSystemException | UnsupportedOperationException e) {
            Files.copy(s, d, StandardCopyOption.COPY_ATTRIBUTES, LinkOption.NOFOLLOW_LINKS);
          }
        }
      }
    }
    // the store's modes (directories 0555) once they are filled, deepest first
    for (Path s : dirs.reversed()) {
      Path d = dst.resolve(src.relativize(s).toString());
      Files.setPosixFilePermissions(d, Files.getPosixFilePermissions(s));
    }
  }

  /** Deletes {@code root} and everything under it, read-only directories included; nothing when it is not there. */
  public static void delete(Path root) throws IOException {
    if (!Files.exists(root, LinkOption.NOFOLLOW_LINKS)) {
      return;
    }
    try (Stream<Path> walk = Files.walk(root)) {
      for (Path p : walk.filter(p -> Files.isDirectory(p, LinkOption.NOFOLLOW_LINKS)).toList()) {
        Set<PosixFilePermission> perms = Files.getPosixFilePermissions(p);
        if (!perms.contains(PosixFilePermission.OWNER_WRITE)) {
          perms.add(PosixFilePermission.OWNER_WRITE);
          perms.add(PosixFilePermission.OWNER_EXECUTE);
          Files.setPosixFilePermissions(p, perms);
        }
      }
    }
    try (Stream<Path> walk = Files.walk(root)) {
      for (Path p : walk.sorted(Comparator.reverseOrder()).toList()) {
        Files.deleteIfExists(p);
      }
    }
  }

  /**
   * Removes the images of closures that are gone from the store, and those that no VM here boots
   * ({@code inUse} holds the closures of this node's VMs) and none has booted for {@link
   * Settings#keepUnused}; leftovers of builds cut short go too, unless a build runs. Forgets why
   * images could not be made, so that the next boot tries again. Returns the images removed.
   */
  public List<Path> sweep(Set<String> inUse) {
    failed.clear();
    List<Path> removed = new ArrayList<>();
    if (!Files.isDirectory(dir)) {
      return removed;
    }
    Map<String, String> closureOfHash = new java.util.HashMap<>();
    inUse.forEach(c -> closureOfHash.put(hashOf(c), c));
    boolean building = builds.values().stream().anyMatch(ReentrantLock::isLocked);
    List<Path> entries;
    try (Stream<Path> list = Files.list(dir)) {
      entries = list.toList();
    } catch (IOException e) {
      log.warn("listing {} failed: {}", dir, e.toString());
      return removed;
    }
    for (Path f : entries) {
      String name = f.getFileName().toString();
      try {
        if (name.startsWith(TEMP)) {
          if (!building) {
            delete(f);
          }
          continue;
        }
        if (!name.endsWith(SUFFIX)) {
          continue;
        }
        String hash = name.substring(0, name.length() - SUFFIX.length());
        Instant lastUse = Files.getLastModifiedTime(f).toInstant();
        if (decide(inUse(hash, closureOfHash), storeHas(hash), lastUse, clock.instant(), settings.keepUnused())) {
          Files.deleteIfExists(f);
          removed.add(f);
          log.info("removed store image {}", f);
        }
      } catch (IOException e) {
        log.warn("sweeping {} failed: {}", f, e.toString());
      }
    }
    return removed;
  }

  private static boolean inUse(String hash, Map<String, String> closureOfHash) {
    return closureOfHash.containsKey(hash);
  }

  /** Whether the store holds a path with this hash. */
  private static boolean storeHas(String hash) throws IOException {
    try (var s = Files.newDirectoryStream(Path.of("/nix/store"), hash + "-*")) {
      return s.iterator().hasNext();
    } catch (java.nio.file.NoSuchFileException e) {
      return false;
    }
  }

  /**
   * Whether an image goes: always when its closure is gone from the store; otherwise only when no
   * VM here boots it and its last use is {@code keepUnused} or longer ago.
   */
  static boolean decide(boolean inUse, boolean inStore, Instant lastUse, Instant now, Duration keepUnused) {
    if (!inStore) {
      return true;
    }
    return !inUse && !lastUse.plus(keepUnused).isAfter(now);
  }
}
