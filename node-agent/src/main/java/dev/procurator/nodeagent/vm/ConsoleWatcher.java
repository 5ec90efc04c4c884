package dev.procurator.nodeagent.vm;

import dev.procurator.api.runtime.ObjectKey;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.ClosedWatchServiceException;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardWatchEventKinds;
import java.nio.file.WatchEvent;
import java.nio.file.WatchKey;
import java.nio.file.WatchService;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.Arrays;
import java.util.LinkedHashSet;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Follows the serial consoles of the VMs on this host through the file system's change
 * notifications (inotify on Linux, through a {@link WatchService} on their directories), so that
 * a guest's ready line wakes its VM's loop the moment it is written, without a thread polling
 * each console; changes are taken in rounds at most 10 ms apart, as a console is written a byte
 * at a time. Every change also enforces the size cap, from the console's first byte: a guest
 * that floods its console before (or after) it is ready fills neither the disk nor the agent's
 * memory, as consoles are read in bounded pieces from where the last read ended.
 *
 * <p>Thread-safe. One thread reads the notifications; {@link #follow}, {@link #reset} and {@link
 * #forget} may be called from any thread.
 */
public final class ConsoleWatcher implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(ConsoleWatcher.class);
  private static final byte[] READY = ConsoleLog.READY_LINE.getBytes(StandardCharsets.ISO_8859_1);
  private static final int CHUNK = 64 * 1024;
  private static final long BATCH_NANOS = 10_000_000;

  /** What is known of one VM's current console. */
  private static final class Followed {
    final ObjectKey key;
    final Path file;
    final Path dir;
    WatchKey watchKey;
    Object fileKey;
    long offset;
    boolean ready;
    byte[] carry = new byte[0];

    Followed(ObjectKey key, Path file) {
      this.key = key;
      this.file = file;
      this.dir = file.getParent();
    }
  }

  private final WatchService watch;
  private final long cap;
  private final Consumer<ObjectKey> wake;
  private final Map<ObjectKey, Followed> followed = new ConcurrentHashMap<>();
  private final Map<WatchKey, Followed> byWatchKey = new ConcurrentHashMap<>();
  private final Thread reader;
  private volatile boolean closed;

  /**
   * @param cap the most bytes a console file may hold before it is moved aside
   * @param wake called with a VM's key when its guest printed its ready line
   */
  public ConsoleWatcher(long cap, Consumer<ObjectKey> wake) throws IOException {
    this.cap = cap;
    this.wake = wake;
    this.watch = FileSystems.getDefault().newWatchService();
    this.reader = Thread.ofPlatform().daemon().name("console-watcher").start(this::run);
  }

  /** Starts following the console file {@code serialLog} of {@code key} (idempotent) and reads what it holds so far. */
  public void follow(ObjectKey key, Path serialLog) {
    Followed f = followed.computeIfAbsent(key, k -> new Followed(k, serialLog));
    synchronized (f) {
      if (f.watchKey == null || !f.watchKey.isValid()) {
        try {
          f.watchKey = f.dir.register(watch, StandardWatchEventKinds.ENTRY_CREATE, StandardWatchEventKinds.ENTRY_MODIFY);
          byWatchKey.put(f.watchKey, f);
        } catch (IOException | ClosedWatchServiceException e) {
          log.warn("{}: cannot follow the console {}: {}", key, serialLog, e.toString());
        }
      }
    }
    scan(f);
  }

  /** A new boot of {@code key} begins: its console starts over and its guest is not ready. */
  public void reset(ObjectKey key) {
    Followed f = followed.get(key);
    if (f != null) {
      synchronized (f) {
        f.offset = 0;
        f.ready = false;
        f.fileKey = null;
        f.carry = new byte[0];
      }
    }
  }

  /** Whether the guest of {@code key}'s current boot printed its ready line. */
  public boolean ready(ObjectKey key) {
    Followed f = followed.get(key);
    if (f == null) {
      return false;
    }
    synchronized (f) {
      return f.ready;
    }
  }

  /** Stops following {@code key}. */
  public void forget(ObjectKey key) {
    Followed f = followed.remove(key);
    if (f != null) {
      synchronized (f) {
        if (f.watchKey != null) {
          byWatchKey.remove(f.watchKey);
          f.watchKey.cancel();
        }
      }
    }
  }

  private void run() {
    long lastRound = System.nanoTime() - BATCH_NANOS; // nanoTime has no fixed origin: the first change is read at once
    while (!closed) {
      WatchKey k;
      try {
        k = watch.take();
        // a guest's console is written a byte at a time, so a boot brings thousands of changes:
        // rounds at most BATCH_NANOS apart take each burst in one read instead of one per byte,
        // and a line after a quiet spell (the ready line, mostly) is still read at once
        long wait = lastRound + BATCH_NANOS - System.nanoTime();
        if (wait > 0) {
          Thread.sleep(wait / 1_000_000, (int) (wait % 1_000_000));
        }
      } catch (InterruptedException | ClosedWatchServiceException e) {
        return;
      }
      lastRound = System.nanoTime();
      boolean overflow = false;
      Set<Followed> changed = new LinkedHashSet<>();
      for (WatchKey next = k; next != null; next = pollQuietly()) {
        for (WatchEvent<?> e : next.pollEvents()) {
          overflow |= e.kind() == StandardWatchEventKinds.OVERFLOW;
        }
        next.reset();
        Followed f = byWatchKey.get(next);
        if (f != null) {
          changed.add(f);
        }
      }
      (overflow ? followed.values() : changed).forEach(this::scan);
    }
  }

  private WatchKey pollQuietly() {
    try {
      return watch.poll();
    } catch (ClosedWatchServiceException e) {
      return null;
    }
  }

  /** Reads what the console gained since the last look, looks for the ready line in it, and applies the cap. */
  private void scan(Followed f) {
    boolean becameReady = false;
    synchronized (f) {
      Path file = f.file;
      try {
        BasicFileAttributes attrs = Files.readAttributes(file, BasicFileAttributes.class);
        long size = attrs.size();
        if (f.fileKey != null && !f.fileKey.equals(attrs.fileKey()) || size < f.offset) {
          f.offset = 0; // a new file (a new boot), or the file was cut
          f.carry = new byte[0];
        }
        f.fileKey = attrs.fileKey();
        if (!f.ready && size > f.offset) {
          // what arrived since the last look, but never more than the cap: a flood is not read whole
          long from = Math.max(f.offset, size - cap);
          if (from > f.offset) {
            f.carry = new byte[0];
          }
          try (RandomAccessFile in = new RandomAccessFile(file.toFile(), "r")) {
            in.seek(from);
            byte[] buf = new byte[CHUNK];
            long left = size - from;
            while (!f.ready && left > 0) {
              int n = in.read(buf, 0, (int) Math.min(buf.length, left));
              if (n <= 0) {
                break;
              }
              left -= n;
              byte[] window = new byte[f.carry.length + n];
              System.arraycopy(f.carry, 0, window, 0, f.carry.length);
              System.arraycopy(buf, 0, window, f.carry.length, n);
              if (indexOf(window, READY) >= 0) {
                f.ready = true;
                becameReady = true;
              }
              f.carry = Arrays.copyOfRange(window, Math.max(0, window.length - (READY.length - 1)), window.length);
            }
          }
        }
        f.offset = size;
        if (new ConsoleLog(file, file.resolveSibling(file.getFileName() + ".1")).capAt(cap)) {
          f.offset = 0;
          f.carry = new byte[0];
        }
      } catch (NoSuchFileException e) {
        // not written yet
      } catch (IOException e) {
        log.debug("{}: reading the console failed: {}", f.key, e.toString());
      }
    }
    if (becameReady) {
      wake.accept(f.key);
    }
  }

  static int indexOf(byte[] haystack, byte[] needle) {
    outer:
    for (int i = 0; i + needle.length <= haystack.length; i++) {
      for (int j = 0; j < needle.length; j++) {
        if (haystack[i + j] != needle[j]) {
          continue outer;
        }
      }
      return i;
    }
    return -1;
  }

  @Override
  public void close() throws IOException {
    closed = true;
    watch.close();
    reader.interrupt();
  }
}
