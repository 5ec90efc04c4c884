package dev.procurator.apiserver.encryption;

import dev.procurator.apiserver.storage.KeyValue;
import dev.procurator.apiserver.storage.ListPage;
import dev.procurator.apiserver.storage.Storage;
import dev.procurator.apiserver.storage.StorageException;
import dev.procurator.apiserver.storage.WatchEvent;
import dev.procurator.apiserver.storage.WatchListener;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;

/**
 * A storage whose values under some prefixes are sealed by an {@link Envelope} on the way in and
 * opened on the way out (gets, lists, watch events, the current value a conflict carries). What
 * lies on disk or in etcd under those prefixes holds no plaintext; everything above this class
 * sees plaintext only.
 */
public final class EncryptingStorage implements Storage {
  private final Storage delegate;
  private volatile Envelope envelope;
  private final List<String> prefixes;

  public EncryptingStorage(Storage delegate, Envelope envelope, List<String> prefixes) {
    this.delegate = delegate;
    this.envelope = envelope;
    this.prefixes = List.copyOf(prefixes);
  }

  /** The storage underneath, which holds the sealed bytes. */
  public Storage raw() {
    return delegate;
  }

  public Envelope envelope() {
    return envelope;
  }

  /** Seals from now on with {@code next} (which must open everything the current one opens). */
  public void use(Envelope next) {
    this.envelope = next;
  }

  /** The prefixes whose values are sealed. */
  public List<String> prefixes() {
    return prefixes;
  }

  private boolean covered(String key) {
    for (String p : prefixes) {
      if (key.startsWith(p)) {
        return true;
      }
    }
    return false;
  }

  private byte[] in(String key, byte[] value) {
    return covered(key) ? envelope.seal(key, value) : value;
  }

  private KeyValue out(KeyValue kv) {
    if (kv == null || !covered(kv.key())) {
      return kv;
    }
    return new KeyValue(kv.key(), envelope.open(kv.key(), kv.value()), kv.createRevision(), kv.modRevision());
  }

  private <T> CompletableFuture<T> opening(CompletableFuture<T> f) {
    return f.exceptionallyCompose(e -> {
      Throwable cause = e instanceof CompletionException && e.getCause() != null ? e.getCause() : e;
      if (cause instanceof StorageException.Conflict c && c.current() != null && covered(c.current().key())) {
        return CompletableFuture.failedFuture(new StorageException.Conflict(c.current().key(), -1, out(c.current())));
      }
      return CompletableFuture.failedFuture(cause);
    });
  }

  @Override
  public CompletableFuture<Long> createAsync(String key, byte[] value) {
    return delegate.createAsync(key, in(key, value));
  }

  @Override
  public Optional<KeyValue> get(String key) {
    return delegate.get(key).map(this::out);
  }

  @Override
  public long count(String prefix) {
    return delegate.count(prefix);
  }

  @Override
  public ListPage list(String prefix, String startKey, long revision, int limit) {
    ListPage page = delegate.list(prefix, startKey, revision, limit);
    return new ListPage(page.items().stream().map(this::out).toList(), page.revision(), page.more());
  }

  @Override
  public CompletableFuture<Long> updateAsync(String key, long expectedModRevision, byte[] value) {
    return opening(delegate.updateAsync(key, expectedModRevision, in(key, value)));
  }

  @Override
  public long delete(String key, long expectedModRevision) {
    return delegate.delete(key, expectedModRevision);
  }

  @Override
  public Watch watch(String prefix, long afterRevision, WatchListener listener) {
    return delegate.watch(prefix, afterRevision, opened(listener));
  }

  @Override
  public Watch follow(String prefix, long afterRevision, WatchListener listener) {
    return delegate.follow(prefix, afterRevision, opened(listener));
  }

  private WatchListener opened(WatchListener listener) {
    return new WatchListener() {
      @Override
      public void onEvent(WatchEvent event) {
        listener.onEvent(switch (event) {
          case WatchEvent.Put p -> new WatchEvent.Put(out(p.current()), out(p.previous()));
          case WatchEvent.Delete d -> new WatchEvent.Delete(out(d.previous()), d.revision());
        });
      }

      @Override
      public void onProgress(long revision) {
        listener.onProgress(revision);
      }

      @Override
      public void onError(Throwable error) {
        listener.onError(error);
      }
    };
  }

  @Override
  public long currentRevision() {
    return delegate.currentRevision();
  }

  @Override
  public void compact(long revision) {
    delegate.compact(revision);
  }

  @Override
  public void close() {
    delegate.close();
  }
}
