package dev.procurator.apiserver.storage;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
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

  private static String mode(Path p) throws Exception {
    return PosixFilePermissions.toString(Files.getPosixFilePermissions(p));
  }

  @Test
  void theStoreIsTheOwnersOnlyAndAnOlderOpenOneIsTightened() throws Exception {
    Path store = dir.resolve("data/store");
    Storage s = SqliteStorage.open(store);
    try {
      s.create("/r/a", "one".getBytes(UTF_8));
      assertThat(mode(store)).isEqualTo("rwx------");
      // SQLite gives its write-ahead log and shared memory the database's own mode when it makes them
      for (String f : List.of("procurator.db", "procurator.db-wal", "procurator.db-shm")) {
        assertThat(mode(store.resolve(f))).as(f).isEqualTo("rw-------");
      }
    } finally {
      s.close();
    }

    // a store made before: an open folder and world-readable files
    Files.setPosixFilePermissions(store, PosixFilePermissions.fromString("rwxr-xr-x"));
    for (String f : List.of("procurator.db", "procurator.db-wal", "procurator.db-shm")) {
      if (Files.exists(store.resolve(f))) {
        Files.setPosixFilePermissions(store.resolve(f), PosixFilePermissions.fromString("rw-r--r--"));
      }
    }
    s = SqliteStorage.open(store);
    try {
      assertThat(new String(s.get("/r/a").orElseThrow().value(), UTF_8)).isEqualTo("one");
      s.create("/r/b", "two".getBytes(UTF_8));
      assertThat(mode(store)).isEqualTo("rwx------");
      for (String f : List.of("procurator.db", "procurator.db-wal", "procurator.db-shm")) {
        assertThat(mode(store.resolve(f))).as(f).isEqualTo("rw-------");
      }
    } finally {
      s.close();
    }
  }
}
