package dev.procurator.apiserver.storage;

import java.util.Objects;

/** One stored value with the revisions that created and last modified it. */
public record KeyValue(String key, byte[] value, long createRevision, long modRevision) {
  public KeyValue {
    Objects.requireNonNull(key, "key");
    Objects.requireNonNull(value, "value");
    if (createRevision <= 0 || modRevision < createRevision) {
      throw new IllegalArgumentException("bad revisions " + createRevision + "/" + modRevision + " for " + key);
    }
  }
}
