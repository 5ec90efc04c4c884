package dev.procurator.apiserver.storage;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SqliteStorageTest extends StorageContract {
  @TempDir Path dir;

  @Override
  protected Storage newStorage() {
    return SqliteStorage.open(dir);
  }

  @Test
  void reopeningKeepsValuesAndRevisions() {
    long rev = storage.create("/r/a", "one".getBytes(UTF_8));
    storage.close();

    storage = SqliteStorage.open(dir);
    assertThat(storage.currentRevision()).isEqualTo(rev);
    assertThat(new String(storage.get("/r/a").orElseThrow().value(), UTF_8)).isEqualTo("one");
    assertThat(storage.create("/r/b", "two".getBytes(UTF_8))).isEqualTo(rev + 1);
  }
}
