package dev.procurator.apiserver.watch;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.procurator.apiserver.resource.ResourceRegistry;
import dev.procurator.apiserver.resource.ResourceType;
import dev.procurator.apiserver.storage.KeyValue;
import dev.procurator.apiserver.storage.ListPage;
import dev.procurator.apiserver.storage.Storage;
import dev.procurator.apiserver.storage.WatchListener;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

class WatchCacheTest {
  /**
   * A storage whose watch client, like jetcd's, delivers a failure while holding a lock of its own
   * and takes the same lock to close a watch. Only the watch side is used.
   */
  private static final class LockingStorage implements Storage {
    final Object clientLock = new Object();
    final AtomicReference<WatchListener> listener = new AtomicReference<>();

    @Override
    public Watch watch(String prefix, long afterRevision, WatchListener l) {
      listener.set(l);
      return () -> {
        synchronized (clientLock) {
          listener.set(null);
        }
      };
    }

    @Override
    public long currentRevision() {
      return 1;
    }

    @Override
    public CompletableFuture<Long> createAsync(String key, byte[] value) {
      throw new UnsupportedOperationException();
    }

    @Override
    public Optional<KeyValue> get(String key) {
      throw new UnsupportedOperationException();
    }

    @Override
    public ListPage list(String prefix, String startKey, long revision, int limit) {
      throw new UnsupportedOperationException();
    }

    @Override
    public CompletableFuture<Long> updateAsync(String key, long expectedModRevision, byte[] value) {
      throw new UnsupportedOperationException();
    }

    @Override
    public long delete(String key, long expectedModRevision) {
      throw new UnsupportedOperationException();
    }

    @Override
    public void compact(long revision) {}

    @Override
    public void close() {}
  }

  @Test
  void closingWhileTheStorageWatchFailsDoesNotDeadlock() throws Exception {
    LockingStorage storage = new LockingStorage();
    ResourceType type = ResourceRegistry.standard().all().iterator().next();
    ScheduledExecutorService scheduler = Executors.newSingleThreadScheduledExecutor();
    try {
      WatchCache cache = new WatchCache(storage, type, 100, scheduler, Duration.ofHours(1));
      cache.start();
      WatchListener listener = storage.listener.get();
      CountDownLatch failing = new CountDownLatch(1);
      AtomicReference<Thread> closer = new AtomicReference<>();
      // the client's thread: holds its lock, waits until the close is blocked on it, then reports a failure
      AtomicReference<Throwable> clientFailed = new AtomicReference<>();
      CountDownLatch delivered = new CountDownLatch(1);
      Thread client = Thread.ofPlatform().daemon().start(() -> {
        try {
          synchronized (storage.clientLock) {
            failing.countDown();
            await().atMost(Duration.ofSeconds(10)).until(() -> closer.get() != null && closer.get().getState() == Thread.State.BLOCKED);
            listener.onError(new IllegalStateException("stream closed"));
            delivered.countDown();
          }
        } catch (Throwable t) {
          clientFailed.set(t); // a timeout here (the close never blocked) is the test's failure, not a lost one
        }
      });
      failing.await();
      closer.set(Thread.ofPlatform().daemon().start(cache::close));
      closer.get().join(TimeUnit.SECONDS.toMillis(10));
      client.join(TimeUnit.SECONDS.toMillis(10));
      assertThat(closer.get().isAlive()).as("close finished").isFalse();
      assertThat(client.isAlive()).as("the client's thread ended").isFalse();
      assertThat(clientFailed.get()).as("the close blocked on the client's lock, and the failure went in").isNull();
      assertThat(delivered.getCount()).as("the failure was delivered").isZero();
      assertThat(storage.listener.get()).as("the storage watch is closed").isNull();
    } finally {
      scheduler.shutdownNow();
    }
  }
}
