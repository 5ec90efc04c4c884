package dev.procurator.apiserver.storage;

/**
 * Receives a watch's events. Calls are made one at a time, from a thread owned by the storage;
 * an implementation must return quickly and never block.
 */
public interface WatchListener {
  void onEvent(WatchEvent event);

  /**
   * Every event of this watch at or before {@code revision} has been delivered: the answer to
   * {@link Storage.Watch#requestProgress()}. A follower that saw no event of its own for a while
   * learns here how far it is current (what watch bookmarks carry).
   */
  default void onProgress(long revision) {}

  /**
   * The watch ended and sends nothing more: {@link StorageException.Compacted} when its revision is
   * gone, another exception when the storage failed.
   */
  void onError(Throwable error);
}
