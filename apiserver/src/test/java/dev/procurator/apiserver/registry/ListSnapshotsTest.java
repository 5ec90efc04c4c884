package dev.procurator.apiserver.registry;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;

import dev.procurator.apiserver.storage.KeyValue;
import dev.procurator.apiserver.storage.ListPage;
import dev.procurator.apiserver.storage.SqliteStorage;
import dev.procurator.apiserver.storage.Storage;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import java.util.Locale;

/** Continued pages cut from one snapshot of the rest of the range, on the embedded store. */
class ListSnapshotsTest {
  @Test
  void continuedPagesAreTheListAtItsRevisionWhateverHappensMeanwhile(@TempDir Path dir) {
    try (Storage storage = SqliteStorage.open(dir)) {
      for (int i = 0; i < 25; i++) {
        storage.create(String.format(Locale.ROOT, "/r/k%02d", i), ("v" + i).getBytes(UTF_8));
      }
      ListPage first = storage.list("/r/", null, 0, 10);
      long rev = first.revision();
      ListSnapshots snapshots = new ListSnapshots(storage, 1 << 20);

      // writes after the first page are not part of the list
      storage.create("/r/k05a", "late".getBytes(UTF_8));
      storage.delete("/r/k20", 0);

      List<String> keys = new ArrayList<>(first.items().stream().map(KeyValue::key).toList());
      String from = keys.getLast() + "\0";
      while (true) {
        ListPage p = snapshots.page("/r/", from, rev, 10);
        assertThat(p.revision()).isEqualTo(rev);
        p.items().forEach(kv -> keys.add(kv.key()));
        if (!p.more()) {
          break;
        }
        from = p.items().getLast().key() + "\0";
      }
      assertThat(keys).hasSize(25).doesNotContain("/r/k05a").contains("/r/k20").isSorted();

      // a page from a key before the snapshot's start reads the store again
      assertThat(snapshots.page("/r/", "/r/k00", rev, 3).items()).extracting(KeyValue::key)
          .containsExactly("/r/k00", "/r/k01", "/r/k02");
    }
  }
}
