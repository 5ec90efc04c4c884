package dev.procurator.apiserver.storage;

import java.util.Optional;

/**
 * A revisioned key-value store with prefix watches.
 *
 * <p>All methods are blocking and thread-safe; call them from worker or virtual threads, never
 * from an event loop. Revisions are positive and increase by one for every write across all keys.
 */
public interface Storage extends AutoCloseable {
  /** Largest value any implementation accepts (etcd's own request limit is near 1.5 MiB). */
  int MAX_VALUE_BYTES = 1536 * 1024;

  /** Creates {@code key}; fails with {@link StorageException.KeyExists}. Returns the new revision. */
  long create(String key, byte[] value);

  /** The current value of {@code key}. */
  Optional<KeyValue> get(String key);

  /**
   * Keys starting with {@code prefix}, in key order, from {@code startKey} (inclusive, or null for
   * the first), at {@code revision} (0 for the current one), at most {@code limit} (0 for all).
   * Fails with {@link StorageException.Compacted} when the revision is gone.
   */
  ListPage list(String prefix, String startKey, long revision, int limit);

  /**
   * Replaces {@code key} if its mod revision is {@code expectedModRevision}; fails with {@link
   * StorageException.Conflict} (carrying the current value) or {@link StorageException.NotFound}.
   */
  long update(String key, long expectedModRevision, byte[] value);

  /**
   * Deletes {@code key} if its mod revision is {@code expectedModRevision} (0: whatever it is).
   * Returns the revision of the delete.
   */
  long delete(String key, long expectedModRevision);

  /**
   * Delivers every change under {@code prefix} after {@code afterRevision}, then live changes,
   * until cancelled. A revision already compacted fails with {@link StorageException.Compacted},
   * thrown here or passed to {@link WatchListener#onError}.
   */
  Watch watch(String prefix, long afterRevision, WatchListener listener);

  /** The newest revision. */
  long currentRevision();

  /** Forgets history at and before {@code revision}; the current value of every key is kept. */
  void compact(long revision);

  /** A running watch. */
  interface Watch extends AutoCloseable {
    @Override
    void close();
  }

  @Override
  void close();

  /** Rejects values over {@link #MAX_VALUE_BYTES}, the same for every implementation. */
  static void checkSize(String key, byte[] value) {
    if (value.length > MAX_VALUE_BYTES) {
      throw new StorageException.TooLarge(key, value.length, MAX_VALUE_BYTES);
    }
  }

  /** The smallest key greater than every key starting with {@code prefix}. */
  static String prefixEnd(String prefix) {
    char last = prefix.charAt(prefix.length() - 1);
    return prefix.substring(0, prefix.length() - 1) + (char) (last + 1);
  }
}
