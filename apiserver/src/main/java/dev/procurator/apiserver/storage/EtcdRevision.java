package dev.procurator.apiserver.storage;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * How {@link EtcdStorage} numbers writes when several share one etcd txn.
 *
 * <p>etcd gives every write in a txn the txn's revision, so writes committed together would share
 * a resourceVersion, and a watch resumed from one of them could not tell which of its neighbours it
 * had seen. A storage revision is therefore etcd's revision shifted left by {@link #BITS}, plus the
 * write's slot in its txn (0 for a write alone). The slot travels with the value: a value written
 * in slot 1 or later (or one that itself starts with a zero byte) is stored behind a two-byte
 * frame, zero then the slot, so a get or a watch event yields the exact revision of the write. A
 * value written alone in slot 0 is stored as it is, readable with etcdctl.
 *
 * <p>{@link #LAST}, the highest slot, names the state after every write of an etcd revision: the
 * revision of a list, of {@code currentRevision}, and of bookmarks.
 */
final class EtcdRevision {
  static final int BITS = 7;
  static final int LAST = (1 << BITS) - 1;

  private EtcdRevision() {
  }

  static long of(long etcdRevision, int slot) {
    return (etcdRevision << BITS) | slot;
  }

  /** The state after every write at {@code etcdRevision}. */
  static long whole(long etcdRevision) {
    return of(etcdRevision, LAST);
  }

  static long etcd(long revision) {
    return revision >>> BITS;
  }

  /**
   * The etcd mod revision a compare expects for storage revision {@code revision}; never 0,
   * which etcd would match against an absent key.
   */
  static long etcdModRevision(long revision) {
    return Math.max(1, etcd(revision));
  }

  static int slot(long revision) {
    return (int) (revision & LAST);
  }

  /** The first etcd revision holding writes after {@code revision}. */
  static long firstEtcdAfter(long revision) {
    return slot(revision) == LAST ? etcd(revision) + 1 : Math.max(1, etcd(revision));
  }

  /** {@code value} as stored for a write in {@code slot}. */
  static byte[] frame(byte[] value, int slot) {
    if (slot == 0 && (value.length == 0 || value[0] != 0)) {
      return value;
    }
    byte[] framed = new byte[value.length + 2];
    framed[1] = (byte) slot;
    System.arraycopy(value, 0, framed, 2, value.length);
    return framed;
  }

  /**
   * A stored key-value with storage revisions. The create revision is exact while the key has not
   * been written since; after that it carries the slot of the latest write only if both happened
   * in the same txn, and slot 0 otherwise (it still orders correctly against other etcd revisions).
   */
  static KeyValue keyValue(io.etcd.jetcd.KeyValue kv) {
    byte[] stored = kv.getValue().getBytes();
    boolean framed = stored.length >= 2 && stored[0] == 0;
    int slot = framed ? stored[1] & 0xff : 0;
    byte[] value = framed ? Arrays.copyOfRange(stored, 2, stored.length) : stored;
    long created = kv.getCreateRevision();
    long modified = kv.getModRevision();
    return new KeyValue(kv.getKey().toString(StandardCharsets.UTF_8), value,
        of(created, created == modified ? slot : 0), of(modified, slot));
  }
}
