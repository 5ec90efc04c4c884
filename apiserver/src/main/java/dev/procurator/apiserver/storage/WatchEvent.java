package dev.procurator.apiserver.storage;

/** A change seen by a watch. Events reach a listener in revision order. */
public sealed interface WatchEvent {
  long revision();

  String key();

  /** A key was created or updated; {@code previous} is null on create. */
  record Put(KeyValue current, KeyValue previous) implements WatchEvent {
    @Override
    public long revision() {
      return current.modRevision();
    }

    @Override
    public String key() {
      return current.key();
    }

    public boolean created() {
      return current.createRevision() == current.modRevision();
    }
  }

  /** A key was deleted at {@code revision}; {@code previous} is its last value. */
  record Delete(KeyValue previous, long revision) implements WatchEvent {
    @Override
    public String key() {
      return previous.key();
    }
  }
}
