package dev.procurator.apiserver.storage;

/**
 * Receives a watch's events. Calls are made one at a time, from a thread owned by the storage;
 * an implementation must return quickly and never block.
 */
public interface WatchListener {
  void onEvent(WatchEvent event);

  /**
   * The watch ended and sends nothing more: {@link StorageException.Compacted} when its revision is
   * gone, another exception when the storage failed.
   */
  void onError(Throwable error);
}
