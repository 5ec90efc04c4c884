package dev.procurator.apiserver.watch;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.procurator.apiserver.registry.Codec;
import dev.procurator.apiserver.storage.KeyValue;
import dev.procurator.apiserver.storage.ListPage;
import dev.procurator.apiserver.storage.Storage;
import dev.procurator.apiserver.storage.WatchEvent;
import dev.procurator.apiserver.storage.WatchListener;
import java.util.Collection;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The current objects under one storage prefix, kept in memory as a projection of each (what the
 * server itself needs to decide on, such as who may read what): a list, then a watch from the
 * list's revision; when the watch fails, a fresh list. Readers see a map that is at most one
 * event behind storage. Thread-safe.
 *
 * @param <T> what is kept of each object; a projection that returns null leaves the object out
 */
public final class ObjectIndex<T> implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(ObjectIndex.class);
  private static final int PAGE = 500;

  private final Storage storage;
  private final String prefix;
  private final Function<ObjectNode, T> projection;
  private final ScheduledExecutorService scheduler;
  private final Map<String, T> objects = new ConcurrentHashMap<>();
  private final CountDownLatch synced = new CountDownLatch(1);
  private volatile Runnable onChange = () -> { };
  private volatile Storage.Watch watch;
  private volatile boolean closed;
  private volatile long revision;

  public ObjectIndex(Storage storage, String prefix, Function<ObjectNode, T> projection, ScheduledExecutorService scheduler) {
    this.storage = storage;
    this.prefix = prefix;
    this.projection = projection;
    this.scheduler = scheduler;
  }

  /** Called after every change is applied (on the storage's watch thread; must be quick). */
  public ObjectIndex<T> onChange(Runnable r) {
    this.onChange = r;
    return this;
  }

  /** Lists and starts following; returns once the first list is in. */
  public ObjectIndex<T> start() {
    relist();
    return this;
  }

  /** Blocks until the first list is in, at most {@code seconds}. */
  public boolean awaitSynced(long seconds) throws InterruptedException {
    return synced.await(seconds, TimeUnit.SECONDS);
  }

  /** The object stored at {@code key}, as projected, or null. */
  public T get(String key) {
    return objects.get(key);
  }

  /** The key of the object named {@code suffix} under this index's prefix. */
  public String prefixKey(String suffix) {
    return prefix + suffix;
  }

  public Collection<T> values() {
    return objects.values();
  }

  /** The newest revision applied. */
  public long revision() {
    return revision;
  }

  private synchronized void relist() {
    if (closed) {
      return;
    }
    try {
      Map<String, T> fresh = new java.util.HashMap<>();
      long rev = 0;
      String start = null;
      while (true) {
        ListPage page = storage.list(prefix, start, rev, PAGE);
        rev = page.revision();
        for (KeyValue kv : page.items()) {
          T t = project(kv);
          if (t != null) {
            fresh.put(kv.key(), t);
          }
        }
        if (!page.more() || page.items().isEmpty()) {
          break;
        }
        start = page.items().get(page.items().size() - 1).key() + "\0";
      }
      objects.keySet().retainAll(fresh.keySet());
      objects.putAll(fresh);
      revision = rev;
      synced.countDown();
      onChange.run();
      watch = storage.watch(prefix, rev, new WatchListener() {
        @Override
        public void onEvent(WatchEvent event) {
          apply(event);
        }

        @Override
        public void onError(Throwable error) {
          log.warn("index of {} lost its watch ({}); listing again", prefix, error.toString());
          retry();
        }
      });
    } catch (RuntimeException e) {
      log.warn("index of {} could not list ({}); trying again", prefix, e.toString());
      retry();
    }
  }

  private void retry() {
    Storage.Watch w = watch;
    if (w != null) {
      w.close();
    }
    if (!closed) {
      scheduler.schedule(this::relist, 1, TimeUnit.SECONDS);
    }
  }

  private void apply(WatchEvent event) {
    switch (event) {
      case WatchEvent.Put put -> {
        T t = project(put.current());
        if (t == null) {
          objects.remove(put.key());
        } else {
          objects.put(put.key(), t);
        }
      }
      case WatchEvent.Delete delete -> objects.remove(delete.key());
    }
    revision = event.revision();
    onChange.run();
  }

  private T project(KeyValue kv) {
    try {
      return projection.apply(Codec.decode(kv));
    } catch (RuntimeException e) {
      log.warn("index of {}: {} cannot be read ({}); left out", prefix, kv.key(), e.toString());
      return null;
    }
  }

  @Override
  public void close() {
    closed = true;
    Storage.Watch w = watch;
    if (w != null) {
      w.close();
    }
  }
}
