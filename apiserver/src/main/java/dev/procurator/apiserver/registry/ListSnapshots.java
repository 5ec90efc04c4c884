package dev.procurator.apiserver.registry;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import dev.procurator.apiserver.storage.KeyValue;
import dev.procurator.apiserver.storage.ListPage;
import dev.procurator.apiserver.storage.Storage;
import java.time.Duration;
import java.util.List;

/**
 * Pages of a paginated list after the first, from a snapshot of the rest of the range read once.
 * A list at a revision never changes, so when a client continues a list, the remainder of the
 * range at that revision is read in one pass and the following pages are cut from memory,
 * instead of asking the store for each page (etcd counts the whole remaining range for every
 * limited request, which made paging through large lists quadratic). Snapshots expire a minute
 * after their last use and are bounded in bytes. Thread-safe.
 */
final class ListSnapshots {
  /** The rest of {@code prefix} from {@code from} (inclusive) at {@code revision}. */
  private record Snapshot(String from, List<KeyValue> items, long weight) {}

  private record Key(String prefix, long revision) {}

  private final Storage storage;
  private final Cache<Key, Snapshot> snapshots;

  ListSnapshots(Storage storage, long maxBytes) {
    this.storage = storage;
    this.snapshots = Caffeine.newBuilder().expireAfterAccess(Duration.ofMinutes(1)).maximumWeight(maxBytes)
        .<Key, Snapshot>weigher((k, s) -> (int) Math.min(Integer.MAX_VALUE, s.weight())).build();
  }

  /** Up to {@code limit} keys from {@code from} at {@code revision} (a continued list), as {@link Storage#list} answers. */
  ListPage page(String prefix, String from, long revision, int limit) {
    Key key = new Key(prefix, revision);
    Snapshot s = snapshots.getIfPresent(key);
    if (s == null || from.compareTo(s.from()) < 0) {
      ListPage rest = storage.list(prefix, from, revision, 0);
      long weight = 64;
      for (KeyValue kv : rest.items()) {
        weight += kv.key().length() + kv.value().length + 64L;
      }
      s = new Snapshot(from, rest.items(), weight);
      snapshots.put(key, s);
    }
    List<KeyValue> items = s.items();
    int start = firstAtOrAfter(items, from);
    int end = limit > 0 ? Math.min(items.size(), start + limit) : items.size();
    return new ListPage(items.subList(start, end), revision, end < items.size());
  }

  private static int firstAtOrAfter(List<KeyValue> items, String from) {
    int lo = 0;
    int hi = items.size();
    while (lo < hi) {
      int mid = (lo + hi) >>> 1;
      if (items.get(mid).key().compareTo(from) < 0) {
        lo = mid + 1;
      } else {
        hi = mid;
      }
    }
    return lo;
  }
}
