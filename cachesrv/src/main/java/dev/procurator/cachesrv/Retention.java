package dev.procurator.cachesrv;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Keeps the cache under its size cap: knows every store path's narinfo and NAR size and when it
 * was last used, and when a write passes the cap evicts whole paths (narinfo, then NAR), least
 * recently used first. Pinned and named roots and everything their closures reference are never
 * evicted; pins live in the store's {@code pins} object (one store path or hash part per line) and change through
 * {@link #pin}/{@link #unpin}.
 *
 * <p>Thread-safe: every method synchronises on this object; file deletions happen under the lock.
 */
public final class Retention {
  private static final Logger log = LoggerFactory.getLogger(Retention.class);

  private record Entry(String narFile, long bytes, List<String> references, long lastUsed) {}

  private final BlobStore store;
  private final long maxBytes;
  private final Map<String, Entry> entries = new HashMap<>();
  private final Set<String> pins = new TreeSet<>();
  /** Hash parts of the named closures ({@link Names}): roots as pins are. */
  private Set<String> named = Set.of();
  private final Consumer<String> onEvict;
  private long totalBytes;
  private long clock;
  private long evictions;

  /** @param maxBytes the cap; 0 for none */
  public Retention(BlobStore store, long maxBytes, Consumer<String> onEvict) throws IOException {
    this.store = store;
    this.maxBytes = maxBytes;
    this.onEvict = onEvict;
    byte[] pinned = store.read(PINS);
    if (pinned != null) {
      for (String line : new String(pinned, StandardCharsets.UTF_8).split("\n")) {
        String h = hashPart(line.trim());
        if (h != null) {
          pins.add(h);
        }
      }
    }
    for (String key : store.list("narinfo/")) {
      if (!key.endsWith(".narinfo")) {
        continue;
      }
      try {
        byte[] text = store.read(key);
        if (text != null) {
          add(NarInfo.parse(new String(text, StandardCharsets.UTF_8)), 0);
        }
      } catch (IllegalArgumentException | IOException e) {
        log.warn("ignoring unreadable {}: {}", key, e.getMessage());
      }
    }
  }

  static final String PINS = "pins";

  static String narinfoKey(String hashPart) {
    return "narinfo/" + hashPart + ".narinfo";
  }

  /** The hash part of a store path, base name or hash part, or null. */
  static String hashPart(String s) {
    String name = s.startsWith(NarInfo.STORE_DIR + "/") ? s.substring(NarInfo.STORE_DIR.length() + 1) : s;
    String h = name.length() >= 32 ? name.substring(0, 32) : name;
    return NixBase32.isHashPart(h) ? h : null;
  }

  private void add(NarInfo info, long used) throws IOException {
    String narFile = info.url().substring("nar/".length());
    long bytes = info.render().length() + Math.max(0, store.size(info.url()));
    Entry old = entries.put(info.hashPart(), new Entry(narFile, bytes, info.references(), used));
    totalBytes += bytes - (old == null ? 0 : old.bytes);
  }

  /** A narinfo was stored: count it, then evict until the cache is under its cap again. */
  public synchronized void stored(NarInfo info) throws IOException {
    add(info, ++clock);
    evictFor(info.hashPart());
  }

  public synchronized void used(String hashPart) {
    Entry e = entries.get(hashPart);
    if (e != null) {
      entries.put(hashPart, new Entry(e.narFile, e.bytes, e.references, ++clock));
    }
  }

  private void evictFor(String justWritten) throws IOException {
    if (maxBytes <= 0 || totalBytes <= maxBytes) {
      return;
    }
    Set<String> keep = pinnedClosure();
    keep.add(justWritten);
    List<Map.Entry<String, Entry>> candidates = new ArrayList<>(entries.entrySet());
    candidates.sort(Comparator.comparingLong(e -> e.getValue().lastUsed));
    for (Map.Entry<String, Entry> c : candidates) {
      if (totalBytes <= maxBytes) {
        break;
      }
      if (keep.contains(c.getKey())) {
        continue;
      }
      evict(c.getKey(), c.getValue());
    }
    if (totalBytes > maxBytes) {
      log.warn("cache holds {} bytes, over its cap of {}: the rest is pinned or just written", totalBytes, maxBytes);
    }
  }

  private void evict(String hash, Entry e) throws IOException {
    onEvict.accept(hash);
    store.delete(narinfoKey(hash));
    entries.remove(hash);
    totalBytes -= e.bytes;
    evictions++;
    boolean shared = entries.values().stream().anyMatch(o -> o.narFile.equals(e.narFile));
    if (!shared) {
      store.delete("nar/" + e.narFile);
    }
    log.info("evicted {} ({} bytes)", hash, e.bytes);
  }

  /** Pinned and named roots and every path their closures reference. */
  private Set<String> pinnedClosure() {
    Set<String> out = new HashSet<>();
    ArrayDeque<String> todo = new ArrayDeque<>(pins);
    todo.addAll(named);
    while (!todo.isEmpty()) {
      String h = todo.pop();
      if (out.add(h)) {
        Entry e = entries.get(h);
        if (e != null) {
          for (String ref : e.references) {
            String r = hashPart(ref);
            if (r != null) {
              todo.push(r);
            }
          }
        }
      }
    }
    return out;
  }

  public synchronized void pin(String hashPart) throws IOException {
    if (pins.add(hashPart)) {
      savePins();
    }
  }

  public synchronized void unpin(String hashPart) throws IOException {
    if (pins.remove(hashPart)) {
      savePins();
    }
  }

  /**
   * Makes {@code roots} (hash parts) the named closures' roots, which eviction keeps as it keeps
   * pins. With {@code mustHold} (a store path), only if the cache holds that very path (its narinfo
   * names it, here or written by another server to the same store): false, changing nothing, when
   * it does not. The check and the change
   * are one step under this lock, so no eviction comes between them.
   */
  synchronized boolean namedRoots(Set<String> roots, String mustHold) throws IOException {
    if (mustHold != null && !holds(mustHold)) {
      return false;
    }
    Set<String> next = new HashSet<>(roots);
    next.remove(null);
    named = Set.copyOf(next);
    return true;
  }

  /**
   * Whether the cache holds {@code path}: a store path, whose narinfo must name that very path
   * (not only share its hash part), or a hash part.
   */
  private boolean holds(String path) throws IOException {
    String hash = hashPart(path);
    if (hash == null) {
      return false;
    }
    if (!path.startsWith(NarInfo.STORE_DIR + "/")) {
      return entries.containsKey(hash) || store.size(narinfoKey(hash)) >= 0;
    }
    byte[] text = store.read(narinfoKey(hash));
    try {
      return text != null && path.equals(NarInfo.parse(new String(text, StandardCharsets.UTF_8)).storePath());
    } catch (IllegalArgumentException e) {
      return false;
    }
  }

  public synchronized Set<String> pins() {
    return new LinkedHashSet<>(pins);
  }

  private void savePins() throws IOException {
    store.put(PINS, (String.join("\n", pins) + (pins.isEmpty() ? "" : "\n")).getBytes(StandardCharsets.UTF_8));
  }

  public synchronized long totalBytes() {
    return totalBytes;
  }

  public synchronized int objects() {
    return entries.size();
  }

  public synchronized long evictions() {
    return evictions;
  }
}
