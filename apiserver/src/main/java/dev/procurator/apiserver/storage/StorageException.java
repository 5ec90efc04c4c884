package dev.procurator.apiserver.storage;

/** Typed failures of a storage call; the API server maps each to one HTTP status. */
public abstract sealed class StorageException extends RuntimeException {
  protected StorageException(String message) {
    super(message);
  }

  protected StorageException(String message, Throwable cause) {
    super(message, cause);
  }

  /** The StorageException a storage future failed with, unwrapped; anything else is Unavailable. */
  public static StorageException of(Throwable failure) {
    Throwable t = cause(failure);
    return t instanceof StorageException e ? e : new Unavailable("storage failed: " + t, t);
  }

  /** What a future failed with, without the CompletionException or ExecutionException around it. */
  public static Throwable cause(Throwable failure) {
    Throwable t = failure;
    while ((t instanceof java.util.concurrent.CompletionException || t instanceof java.util.concurrent.ExecutionException)
        && t.getCause() != null) {
      t = t.getCause();
    }
    return t;
  }

  /** The key does not exist. */
  public static final class NotFound extends StorageException {
    public NotFound(String key) {
      super("key not found: " + key);
    }
  }

  /** A create found the key already there. */
  public static final class KeyExists extends StorageException {
    public KeyExists(String key) {
      super("key exists: " + key);
    }
  }

  /** A compare-and-swap found another revision; {@code current} is what is stored now. */
  public static final class Conflict extends StorageException {
    private final transient KeyValue current;

    public Conflict(String key, long expected, KeyValue current) {
      super("key " + key + " is at revision " + current.modRevision() + ", not " + expected);
      this.current = current;
    }

    public KeyValue current() {
      return current;
    }
  }

  /** The requested revision has been compacted away. */
  public static final class Compacted extends StorageException {
    private final long compactedRevision;

    public Compacted(long requested, long compactedRevision) {
      super("revision " + requested + " has been compacted (oldest kept: " + compactedRevision + ")");
      this.compactedRevision = compactedRevision;
    }

    public long compactedRevision() {
      return compactedRevision;
    }
  }

  /** The storage could not answer: unreachable, timed out, or failed. Retrying may help. */
  public static final class Unavailable extends StorageException {
    public Unavailable(String message, Throwable cause) {
      super(message, cause);
    }
  }

  /** A value is larger than the storage accepts. */
  public static final class TooLarge extends StorageException {
    public TooLarge(String key, int size, int limit) {
      super("value for " + key + " is " + size + " bytes, more than the " + limit + " the store accepts");
    }
  }
}
