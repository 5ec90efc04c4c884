package dev.procurator.cachesrv;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Path;
import java.util.List;

/**
 * Where a cache keeps its objects, by key ({@code narinfo/<hash>.narinfo}, {@code nar/<file>},
 * {@code log/<drv>}, {@code pins}, {@code names}). An object is visible only whole: {@link #put} either stores
 * all of it or nothing. Implementations: {@link FileStore} (default) and {@link S3Store}.
 * Blocking and thread-safe.
 */
public interface BlobStore {
  /** The object's size, or -1 when it does not exist. */
  long size(String key) throws IOException;

  /** {@code length} bytes from {@code offset}; the caller closes the stream. */
  InputStream open(String key, long offset, long length) throws IOException;

  /** The whole object, or null when it does not exist. */
  byte[] read(String key) throws IOException;

  /** Stores {@code file}'s content under {@code key}; the file may be moved or deleted by the call. */
  void put(String key, Path file) throws IOException;

  void put(String key, byte[] content) throws IOException;

  /**
   * Stores {@code content} under {@code key} only if no object is there: returns false, leaving
   * the object that is there as it was, when one is. Atomic, also between servers sharing the store
   * (a hard link on a file system; a conditional PUT, {@code If-None-Match: *}, in S3).
   */
  boolean create(String key, byte[] content) throws IOException;

  void delete(String key) throws IOException;

  /** Keys starting with {@code prefix}. */
  List<String> list(String prefix) throws IOException;

  /** A local directory for uploads in progress. */
  Path scratch();

  /** The local file holding {@code key}, when the store keeps it on this host's disk (for sendfile). */
  default Path localFile(String key) {
    return null;
  }
}
