package dev.procurator.apiserver.watch;

import dev.procurator.apiserver.registry.ApiException;
import dev.procurator.apiserver.registry.Codec;
import dev.procurator.apiserver.registry.Json;
import dev.procurator.apiserver.resource.ResourceType;
import dev.procurator.apiserver.storage.Storage;
import dev.procurator.apiserver.storage.StorageException;
import dev.procurator.apiserver.storage.WatchEvent;
import dev.procurator.apiserver.storage.WatchListener;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Follows one resource type with a single storage watch, keeps the last {@code capacity} events,
 * and fans each event out to every subscriber.
 *
 * <p>{@link #watch} decides, as Kubernetes' cacher does, where a client watch is served from: a
 * subscriber whose start revision is still in the ring is served from it, an older one from a
 * storage watch of its own from that revision (410 Gone when storage has compacted it). A
 * subscriber that cannot take an event is dropped with 410 Gone. If the upstream watch fails,
 * every subscriber gets 410 Gone and the cache restarts from the current revision.
 *
 * <p>Thread-safe. Events are fanned out on the storage's watch thread; subscribers must not block.
 */
public final class WatchCache implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(WatchCache.class);

  private final Storage storage;
  private final ResourceType type;
  private final int capacity;
  private final ScheduledExecutorService scheduler;
  private final ArrayDeque<CachedEvent> ring = new ArrayDeque<>();
  private final Set<Subscriber> subscribers = ConcurrentHashMap.newKeySet();
  private long ringStart;
  private volatile long lastRevision;
  private Storage.Watch upstream;
  private volatile boolean closed;
  private long generation;

  public WatchCache(Storage storage, ResourceType type, int capacity, ScheduledExecutorService scheduler, Duration bookmarkInterval) {
    this.storage = storage;
    this.type = type;
    this.capacity = capacity;
    this.scheduler = scheduler;
    scheduler.scheduleAtFixedRate(this::sendBookmarks, bookmarkInterval.toMillis(), bookmarkInterval.toMillis(), TimeUnit.MILLISECONDS);
  }

  /**
   * Starts following storage from its current revision. The storage watch is opened and closed
   * outside this cache's lock: its client delivers failures while holding a lock of its own, and
   * a failure takes this cache's lock, so holding ours while calling into it could deadlock.
   */
  public void start() {
    long gen;
    long rev = storage.currentRevision();
    synchronized (this) {
      if (closed) {
        return;
      }
      ring.clear();
      ringStart = rev;
      lastRevision = rev;
      gen = ++generation;
    }
    Storage.Watch opened = storage.follow(type.keyPrefix(null), rev, new WatchListener() {
      @Override
      public void onEvent(WatchEvent event) {
        accept(gen, event);
      }

      @Override
      public void onProgress(long revision) {
        progressed(gen, revision);
      }

      @Override
      public void onError(Throwable error) {
        failed(gen, error);
      }
    });
    Storage.Watch replaced;
    synchronized (this) {
      if (gen != generation || closed) {
        replaced = opened; // closed or restarted while it opened
      } else {
        replaced = upstream;
        upstream = opened;
      }
    }
    if (replaced != null) {
      replaced.close();
    }
  }

  public ResourceType type() {
    return type;
  }

  /** The newest revision this cache has seen. */
  public long lastRevision() {
    return lastRevision;
  }

  public int subscriberCount() {
    return subscribers.size();
  }

  /**
   * Feeds {@code s} every event after {@code afterRevision}, then live events. Returns false when
   * that revision is older than the ring holds.
   */
  boolean subscribe(Subscriber s, long afterRevision) {
    synchronized (this) {
      if (afterRevision < ringStart) {
        return false;
      }
      for (CachedEvent e : ring) {
        if (e.revision() > afterRevision && e.key().startsWith(s.keyPrefix()) && !s.offer(e)) {
          s.terminate(tooSlow());
          return true;
        }
      }
      subscribers.add(s);
    }
    return true;
  }

  /**
   * History up to {@code revision} was compacted: watches from there on are refused as they
   * would be by storage, so clients relist rather than resume from a revision no list can show.
   */
  public synchronized void compacted(long revision) {
    while (!ring.isEmpty() && ring.peekFirst().revision() <= revision) {
      ring.removeFirst();
    }
    ringStart = Math.max(ringStart, Math.min(revision, lastRevision));
  }

  void unsubscribe(Subscriber s) {
    subscribers.remove(s);
  }

  /** A client watch, however it is served; closing it stops the events. */
  public interface Watch extends AutoCloseable {
    @Override
    void close();
  }

  /**
   * Feeds {@code s} every event after {@code afterRevision} and then live ones: from the ring
   * when it reaches back that far, else from a storage watch of its own. Throws 410 Gone when
   * storage no longer has that revision.
   */
  public Watch watch(Subscriber s, long afterRevision) {
    if (subscribe(s, afterRevision)) {
      return () -> unsubscribe(s);
    }
    try {
      Storage.Watch direct = storage.watch(s.keyPrefix(), afterRevision, new WatchListener() {
        @Override
        public void onEvent(WatchEvent event) {
          if (!s.offer(convert(event))) {
            s.terminate(tooSlow());
          }
        }

        @Override
        public void onError(Throwable error) {
          s.terminate(error instanceof StorageException.Compacted
              ? ApiException.gone("too old resource version: " + afterRevision + " (" + error.getMessage() + ")")
              : ApiException.unavailable("the watch failed: " + error.getMessage()));
        }
      });
      return direct::close;
    } catch (StorageException.Compacted e) {
      throw ApiException.gone("too old resource version: " + afterRevision + " (" + e.getMessage() + ")");
    }
  }

  private void accept(long gen, WatchEvent event) {
    CachedEvent e = convert(event);
    synchronized (this) {
      if (gen != generation) {
        return;
      }
      ring.addLast(e);
      while (ring.size() > capacity) {
        ringStart = ring.removeFirst().revision();
      }
      lastRevision = e.revision();
    }
    for (Subscriber s : subscribers) {
      if (e.key().startsWith(s.keyPrefix()) && !s.offer(e)) {
        subscribers.remove(s);
        s.terminate(tooSlow());
      }
    }
  }

  /** Converts a storage event into what clients of this type see. */
  CachedEvent convert(WatchEvent event) {
    return switch (event) {
      case WatchEvent.Put p -> new CachedEvent(p.created() ? "ADDED" : "MODIFIED", p.revision(), p.key(),
          served(p.current().value(), p.current().modRevision()),
          p.previous() == null ? null : served(p.previous().value(), p.previous().modRevision()));
      case WatchEvent.Delete d -> new CachedEvent("DELETED", d.revision(), d.key(),
          served(d.previous().value(), d.revision()), null);
    };
  }

  private byte[] served(byte[] stored, long revision) {
    byte[] raw = Codec.raw(stored, revision);
    return type.conversion() == null ? raw : Json.bytes(type.conversion().toServed(Json.readStored(raw)));
  }

  private static ApiException tooSlow() {
    return ApiException.gone("the watch fell too far behind and was closed; list again and watch from the list's resourceVersion");
  }

  private void failed(long gen, Throwable error) {
    synchronized (this) {
      if (gen != generation || closed) {
        return;
      }
    }
    log.warn("watch of {} failed ({}); restarting it, clients will relist", type.qualifiedResource(), error.toString());
    ApiException reason = error instanceof StorageException.Compacted
        ? ApiException.gone("the watch cache was reset because its revision was compacted; list again")
        : ApiException.gone("the watch cache was reset after a storage failure; list again");
    for (Subscriber s : subscribers) {
      subscribers.remove(s);
      s.terminate(reason);
    }
    restart(Duration.ofMillis(100));
  }

  private void restart(Duration delay) {
    scheduler.schedule(() -> {
      if (closed) {
        return;
      }
      try {
        start(); // closes the failed storage watch
      } catch (RuntimeException e) {
        log.warn("restarting the watch of {} failed: {}", type.qualifiedResource(), e.toString());
        restart(delay.multipliedBy(2).compareTo(Duration.ofSeconds(5)) > 0 ? Duration.ofSeconds(5) : delay.multipliedBy(2));
      }
    }, delay.toMillis(), TimeUnit.MILLISECONDS);
  }

  /** The storage has sent every event up to {@code revision}: this cache is current to there, events or not. */
  private synchronized void progressed(long gen, long revision) {
    if (gen == generation && revision > lastRevision) {
      lastRevision = revision;
    }
  }

  /**
   * Sends each subscriber that asked for them a bookmark at the revision this cache is current to,
   * and asks the storage how far that is now, for the next round: a type nobody writes still
   * moves its bookmarks along with the store's revision, so its watchers resume after a
   * compaction without a relist.
   */
  private void sendBookmarks() {
    long rev = lastRevision;
    for (Subscriber s : subscribers) {
      s.bookmark(rev);
    }
    Storage.Watch open;
    synchronized (this) {
      open = upstream;
    }
    if (open != null && !subscribers.isEmpty()) {
      try {
        open.requestProgress();
      } catch (RuntimeException e) {
        log.debug("asking {} for progress failed: {}", type.qualifiedResource(), e.toString());
      }
    }
  }

  @Override
  public void close() {
    Storage.Watch open;
    synchronized (this) {
      closed = true;
      generation++;
      open = upstream;
      upstream = null;
    }
    if (open != null) {
      open.close(); // outside the lock, as in start()
    }
    for (Subscriber s : subscribers) {
      s.terminate(ApiException.unavailable("the server is shutting down"));
    }
    subscribers.clear();
  }
}
