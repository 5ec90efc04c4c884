package dev.procurator.cachesrv;

import dev.procurator.api.nix.ClosureNames;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.stream.Collectors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The cache's closure names, as a registry keeps tags: each name stands for one store path the
 * cache holds, and every named closure is a retention root (see {@link Retention#namedRoots}).
 * Kept in the store's {@code names} object, one {@code NAME STORE_PATH} line per name, rewritten
 * whole on every change.
 *
 * <p>Thread-safe: changes synchronise on this object, which then takes the {@link Retention}'s
 * lock (never the other way round). Blocking.
 */
final class Names {
  private static final Logger log = LoggerFactory.getLogger(Names.class);
  static final String NAMES = "names";

  private final BlobStore store;
  private final Retention retention;
  private Map<String, String> names = new TreeMap<>();

  Names(BlobStore store, Retention retention) throws IOException {
    this.store = store;
    this.retention = retention;
    byte[] kept = store.read(NAMES);
    if (kept != null) {
      for (String line : new String(kept, StandardCharsets.UTF_8).split("\n")) {
        String[] parts = line.strip().split("\\s+");
        if (parts.length == 2 && ClosureNames.validName(parts[0]) && ClosureNames.validStorePath(parts[1])) {
          names.put(parts[0], parts[1]);
        } else if (!line.isBlank()) {
          log.warn("ignoring a malformed line of {}: {}", NAMES, line);
        }
      }
    }
    retention.namedRoots(roots(names), null);
  }

  /** Every name and its store path, sorted by name. */
  synchronized Map<String, String> all() {
    return new TreeMap<>(names);
  }

  synchronized Optional<String> get(String name) {
    return Optional.ofNullable(names.get(name));
  }

  synchronized int size() {
    return names.size();
  }

  /**
   * Names {@code storePath} {@code name}, moving the name if it stood for another path.
   *
   * @param pushHint how to push a path, for the error when the cache does not hold it
   * @throws CacheUploads.NotFound when the cache holds no narinfo for {@code storePath}
   */
  synchronized void set(String name, String storePath, String pushHint) throws IOException {
    requireName(name);
    if (!ClosureNames.validStorePath(storePath)) {
      throw new IllegalArgumentException("the body must be a store path (/nix/store/HASH-NAME), not '"
          + (storePath.length() > 200 ? storePath.substring(0, 200) + "…" : storePath) + "'");
    }
    if (storePath.equals(names.get(name))) {
      return;
    }
    Map<String, String> next = new TreeMap<>(names);
    next.put(name, storePath);
    // checked and made a root in one step, so eviction cannot take the path in between
    if (!retention.namedRoots(roots(next), storePath)) {
      throw new CacheUploads.NotFound(storePath + " is not in this cache: push it first (" + pushHint + ")");
    }
    save(next);
  }

  /** Removes {@code name}; false when there was no such name. */
  synchronized boolean delete(String name) throws IOException {
    requireName(name);
    if (!names.containsKey(name)) {
      return false;
    }
    Map<String, String> next = new TreeMap<>(names);
    next.remove(name);
    save(next);
    return true;
  }

  /** Stores {@code next} and makes it current; when the store fails, the names and roots stay as they were. */
  private void save(Map<String, String> next) throws IOException {
    StringBuilder text = new StringBuilder();
    next.forEach((n, p) -> text.append(n).append(' ').append(p).append('\n'));
    try {
      store.put(NAMES, text.toString().getBytes(StandardCharsets.UTF_8));
    } catch (IOException | RuntimeException e) {
      retention.namedRoots(roots(names), null);
      throw e;
    }
    names = next;
    retention.namedRoots(roots(names), null);
  }

  private static void requireName(String name) {
    if (!ClosureNames.validName(name)) {
      throw new IllegalArgumentException("'" + name + "' is not a closure name: letters, digits, '_', '.' and '-',"
          + " starting with a letter, digit or '_', at most 128 characters");
    }
  }

  private static Set<String> roots(Map<String, String> names) {
    return names.values().stream().map(Retention::hashPart).collect(Collectors.toSet());
  }
}
