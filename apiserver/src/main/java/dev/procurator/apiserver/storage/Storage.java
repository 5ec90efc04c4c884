package dev.procurator.apiserver.storage;

import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.function.Supplier;

/**
 * A revisioned key-value store with prefix watches.
 *
 * <p>Thread-safe. The blocking methods are for worker or virtual threads, never an event loop; the
 * {@code *Async} ones never block, and their futures may complete on a storage thread, so what
 * depends on them must be quick or move elsewhere. Every write gets its own revision, positive and
 * greater than those of every write before it across all keys, though not always the next integer.
 */
public interface Storage extends AutoCloseable {
  /** Largest value any implementation accepts (etcd's own request limit is near 1.5 MiB). */
  int MAX_VALUE_BYTES = 1536 * 1024;

  /**
   * Creates {@code key}, completing with the new revision once the write is durable; fails with
   * {@link StorageException.KeyExists}.
   */
  CompletableFuture<Long> createAsync(String key, byte[] value);

  /** {@link #createAsync}, waiting for it. */
  default long create(String key, byte[] value) {
    return await(createAsync(key, value));
  }

  /** The current value of {@code key}. */
  Optional<KeyValue> get(String key);

  /**
   * Keys starting with {@code prefix}, in key order, from {@code startKey} (inclusive, or null for
   * the first), at {@code revision} (0 for the current one), at most {@code limit} (0 for all).
   * Fails with {@link StorageException.Compacted} when the revision is gone.
   */
  ListPage list(String prefix, String startKey, long revision, int limit);

  /**
   * How many keys start with {@code prefix} now, without reading their values (what
   * {@code apiserver_storage_objects} reports). The default lists them; stores count cheaper.
   */
  default long count(String prefix) {
    return list(prefix, null, 0, 0).items().size();
  }

  /**
   * Replaces {@code key} if its mod revision is {@code expectedModRevision}; fails with {@link
   * StorageException.Conflict} (carrying the current value) or {@link StorageException.NotFound}.
   */
  CompletableFuture<Long> updateAsync(String key, long expectedModRevision, byte[] value);

  /** {@link #updateAsync}, waiting for it. */
  default long update(String key, long expectedModRevision, byte[] value) {
    return await(updateAsync(key, expectedModRevision, value));
  }

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

  /**
   * {@link #watch}, for a follower that stays for the life of the process (the API server's watch
   * cache, one per resource type): an implementation may trade memory for speed here, keeping the
   * current values under {@code prefix} to supply previous values instead of asking for them per
   * event. Many short-lived watches should use {@link #watch}.
   */
  default Watch follow(String prefix, long afterRevision, WatchListener listener) {
    return watch(prefix, afterRevision, listener);
  }

  /** The newest revision. */
  long currentRevision();

  /** Forgets history at and before {@code revision}; the current value of every key is kept. */
  void compact(long revision);

  /** A running watch. */
  interface Watch extends AutoCloseable {
    @Override
    void close();

    /**
     * Asks for a {@link WatchListener#onProgress} soon, after the events it must follow; a storage
     * that cannot say leaves it unanswered.
     */
    default void requestProgress() {}
  }

  @Override
  void close();

  /** Waits for a storage future; its StorageException is thrown as it is. */
  static <T> T await(CompletableFuture<T> f) {
    try {
      return f.get();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new StorageException.Unavailable("interrupted while waiting for storage", e);
    } catch (ExecutionException e) {
      throw StorageException.of(e.getCause());
    }
  }

  /** {@code write}, unless the value is over {@link #MAX_VALUE_BYTES}: the same limit for every implementation. */
  static CompletableFuture<Long> sizeChecked(String key, byte[] value, Supplier<CompletableFuture<Long>> write) {
    return value.length > MAX_VALUE_BYTES
        ? CompletableFuture.failedFuture(new StorageException.TooLarge(key, value.length, MAX_VALUE_BYTES))
        : write.get();
  }

  /** The smallest key greater than every key starting with {@code prefix}. */
  static String prefixEnd(String prefix) {
    char last = prefix.charAt(prefix.length() - 1);
    return prefix.substring(0, prefix.length() - 1) + (char) (last + 1);
  }
}
