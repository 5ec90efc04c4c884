package dev.procurator.apiserver.encryption;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.procurator.api.runtime.Backoff;
import dev.procurator.apiserver.storage.KeyValue;
import dev.procurator.apiserver.storage.ListPage;
import dev.procurator.apiserver.storage.SqliteStorage;
import dev.procurator.apiserver.storage.Storage;
import dev.procurator.apiserver.storage.StorageException;
import dev.procurator.apiserver.storage.WatchListener;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The rewrap is a loop: a pass the store refuses is retried until every Secret is sealed under the current key. */
class KeyRotationTest {
  @TempDir Path tmp;

  /** The embedded store, refusing the first {@code failures} updates as an etcd without quorum would. */
  static final class Flaky implements Storage {
    final Storage real;
    final AtomicInteger failures;

    Flaky(Storage real, int failures) {
      this.real = real;
      this.failures = new AtomicInteger(failures);
    }

    @Override
    public CompletableFuture<Long> createAsync(String key, byte[] value) {
      return real.createAsync(key, value);
    }

    @Override
    public Optional<KeyValue> get(String key) {
      return real.get(key);
    }

    @Override
    public ListPage list(String prefix, String startKey, long revision, int limit) {
      return real.list(prefix, startKey, revision, limit);
    }

    @Override
    public CompletableFuture<Long> updateAsync(String key, long expectedModRevision, byte[] value) {
      if (failures.getAndDecrement() > 0) {
        return CompletableFuture.failedFuture(new StorageException.Unavailable("no quorum", null));
      }
      return real.updateAsync(key, expectedModRevision, value);
    }

    @Override
    public long delete(String key, long expectedModRevision) {
      return real.delete(key, expectedModRevision);
    }

    @Override
    public Watch watch(String prefix, long afterRevision, WatchListener listener) {
      return real.watch(prefix, afterRevision, listener);
    }

    @Override
    public long currentRevision() {
      return real.currentRevision();
    }

    @Override
    public void compact(long revision) {
      real.compact(revision);
    }

    @Override
    public void close() {
      real.close();
    }
  }

  @Test
  void aRewrapTheStoreRefusesIsRetriedUntilEverySecretIsUnderTheNewKey() throws Exception {
    Path keys = tmp.resolve("keys");
    LocalKeyFile.create(keys);
    try (Storage sqlite = SqliteStorage.open(tmp.resolve("db"))) {
      Flaky flaky = new Flaky(sqlite, 3);
      EncryptingStorage sealed = new EncryptingStorage(flaky, new Envelope(List.of(LocalKeyFile.read(keys))), List.of(SecretsAtRest.PREFIX));
      for (int i = 0; i < 5; i++) {
        sealed.create(SecretsAtRest.PREFIX + "default/s" + i, ("{\"v\":" + i + "}").getBytes(StandardCharsets.UTF_8));
      }
      try (KeyRotation rotation = new KeyRotation(sealed, keys, new Backoff<>(Duration.ofMillis(10), Duration.ofMillis(50)))) {
        String next = rotation.rotate();
        await().atMost(Duration.ofSeconds(20)).untilAsserted(() -> {
          KeyRotation.Status s = rotation.status();
          assertThat(s.sealedUnder()).containsEntry(next, 5);
          assertThat(s.rewrapping()).isFalse();
          assertThat(s.lastError()).isNull();
        });
        assertThat(flaky.failures.get()).as("the refused passes happened").isNegative();
      }
    }
  }
}
