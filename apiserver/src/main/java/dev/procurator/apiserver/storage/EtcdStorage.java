package dev.procurator.apiserver.storage;

import io.etcd.jetcd.ByteSequence;
import io.etcd.jetcd.Client;
import io.etcd.jetcd.KV;
import io.etcd.jetcd.common.exception.CompactedException;
import io.etcd.jetcd.kv.GetResponse;
import io.etcd.jetcd.kv.TxnResponse;
import io.etcd.jetcd.op.Cmp;
import io.etcd.jetcd.op.CmpTarget;
import io.etcd.jetcd.op.Op;
import io.etcd.jetcd.options.DeleteOption;
import io.etcd.jetcd.options.GetOption;
import io.etcd.jetcd.options.WatchOption;
import io.grpc.Status;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.AbstractExecutorService;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * Storage in an etcd cluster through jetcd. Keys map one to one onto etcd keys. Creates and
 * updates that arrive together share etcd txns ({@link EtcdWrites}), so a revision is etcd's
 * revision and the write's slot in its txn ({@link EtcdRevision}). Every call carries a timeout
 * (jetcd otherwise waits for the server forever); a write that timed out may still have been
 * applied, as with etcd itself.
 *
 * <p>Thread-safe. Watch listeners are called on jetcd's executor threads, one at a time per watch.
 */
public final class EtcdStorage implements Storage {
  private static final int PAGE = 1000;
  /**
   * Lone write txns in flight before writes queue to share one. Two keeps etcd's pipeline busy
   * while the next batch gathers; with 64 clients, 1 to 4 all beat plain puts per write, and 2
   * did best (BENCHMARKS.md).
   */
  static final int WRITES_IN_FLIGHT = 2;

  private final Client client;
  private final KV kv;
  private final Duration timeout;
  private final EtcdWrites writes;

  public EtcdStorage(Client client, Duration timeout) {
    this(client, timeout, WRITES_IN_FLIGHT);
  }

  /** {@code writesInFlight}: creates and updates sent to etcd at once before more wait to go together. */
  EtcdStorage(Client client, Duration timeout, int writesInFlight) {
    this.client = client;
    this.kv = client.getKVClient();
    this.timeout = timeout;
    this.writes = new EtcdWrites(kv, writesInFlight, this::bounded);
  }

  /** Connects to {@code endpoints} such as {@code http://127.0.0.1:2379}. */
  public static EtcdStorage connect(List<String> endpoints, Duration timeout) {
    return new EtcdStorage(client(endpoints, timeout), timeout);
  }

  static Client client(List<String> endpoints, Duration timeout) {
    return Client.builder()
        .endpoints(endpoints.toArray(String[]::new))
        .maxInboundMessageSize(64 * 1024 * 1024)
        .connectTimeout(timeout)
        .keepaliveTime(Duration.ofSeconds(10))
        .keepaliveTimeout(Duration.ofSeconds(5))
        // Run jetcd's own steps on the thread at hand and its gRPC channel on Vert.x, rather than
        // handing every call and every reply across three thread pools: on a small host those
        // hand-offs cost more CPU than the calls themselves.
        .executorService(new CallerRunsExecutor())
        .useVertx()
        .build();
  }

  private static ByteSequence bytes(String s) {
    return ByteSequence.from(s, StandardCharsets.UTF_8);
  }

  private <T> T await(CompletableFuture<T> f, String what) {
    try {
      return f.get(timeout.toMillis(), TimeUnit.MILLISECONDS);
    } catch (TimeoutException e) {
      f.cancel(true);
      throw new StorageException.Unavailable("etcd did not answer " + what + " within " + timeout, e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new StorageException.Unavailable("interrupted during " + what, e);
    } catch (ExecutionException e) {
      throw translate(e.getCause(), what);
    }
  }

  private static RuntimeException translate(Throwable cause, String what) {
    if (cause instanceof StorageException e) {
      return e;
    }
    if (cause instanceof CompactedException c) {
      return new StorageException.Compacted(-1, EtcdRevision.of(c.getCompactedRevision(), 0));
    }
    Status status = Status.fromThrowable(cause);
    if (status.getCode() == Status.Code.OUT_OF_RANGE) {
      return new StorageException.Compacted(-1, -1);
    }
    return new StorageException.Unavailable("etcd failed " + what + ": " + cause.getMessage(), cause);
  }

  /** What the {@code i}th get of a txn's else branch found, or null for an absent key. */
  static KeyValue current(TxnResponse r, int i) {
    List<GetResponse> gets = r.getGetResponses();
    return i < gets.size() && !gets.get(i).getKvs().isEmpty() ? EtcdRevision.keyValue(gets.get(i).getKvs().get(0)) : null;
  }

  /** {@code f} with this storage's timeout, failing with the StorageException for what went wrong. */
  private <T> CompletableFuture<T> bounded(CompletableFuture<T> f, String what) {
    return f.orTimeout(timeout.toMillis(), TimeUnit.MILLISECONDS).handle((value, failure) -> {
      if (failure == null) {
        return value;
      }
      Throwable cause = StorageException.cause(failure);
      if (cause instanceof TimeoutException) {
        throw new StorageException.Unavailable("etcd did not answer " + what + " within " + timeout, cause);
      }
      throw translate(cause, what);
    });
  }

  @Override
  public CompletableFuture<Long> createAsync(String key, byte[] value) {
    return Storage.sizeChecked(key, value, () -> bounded(writes.write(key, 0, value), "create " + key));
  }

  @Override
  public Optional<KeyValue> get(String key) {
    GetResponse r = await(kv.get(bytes(key)), "get " + key);
    return r.getKvs().isEmpty() ? Optional.empty() : Optional.of(EtcdRevision.keyValue(r.getKvs().get(0)));
  }

  @Override
  public ListPage list(String prefix, String startKey, long revision, int limit) {
    String from = startKey == null || startKey.compareTo(prefix) < 0 ? prefix : startKey;
    // A list at a revision inside a txn's writes shows the state after all of them.
    long etcdRevision = revision > 0 ? Math.max(1, EtcdRevision.etcd(revision)) : 0;
    ByteSequence end = bytes(Storage.prefixEnd(prefix));
    List<KeyValue> items = new ArrayList<>();
    long rev = etcdRevision;
    boolean more;
    // Page through etcd at one pinned revision, so a large list never exceeds a message limit.
    while (true) {
      int want = limit > 0 ? Math.min(PAGE, limit - items.size()) : PAGE;
      GetOption.Builder o = GetOption.builder().withRange(end).withLimit(want);
      if (rev > 0) {
        o.withRevision(rev);
      }
      GetResponse r = await(kv.get(bytes(from), o.build()), "list " + prefix);
      if (rev <= 0) {
        rev = r.getHeader().getRevision();
      }
      r.getKvs().forEach(k -> items.add(EtcdRevision.keyValue(k)));
      more = r.isMore();
      if (!more || (limit > 0 && items.size() >= limit)) {
        break;
      }
      from = items.get(items.size() - 1).key() + '\0';
    }
    return new ListPage(items, EtcdRevision.whole(rev), more);
  }

  @Override
  public long count(String prefix) {
    GetOption o = GetOption.builder().withRange(bytes(Storage.prefixEnd(prefix))).withCountOnly(true).build();
    return await(kv.get(bytes(prefix), o), "count " + prefix).getCount();
  }

  @Override
  public CompletableFuture<Long> updateAsync(String key, long expectedModRevision, byte[] value) {
    return Storage.sizeChecked(key, value, () -> bounded(writes.write(key, expectedModRevision, value), "update " + key));
  }

  @Override
  public long delete(String key, long expectedModRevision) {
    ByteSequence k = bytes(key);
    Cmp cmp = expectedModRevision > 0
        ? new Cmp(k, Cmp.Op.EQUAL, CmpTarget.modRevision(EtcdRevision.etcdModRevision(expectedModRevision)))
        : new Cmp(k, Cmp.Op.GREATER, CmpTarget.createRevision(0));
    TxnResponse r = await(kv.txn()
        .If(cmp)
        .Then(Op.delete(k, DeleteOption.builder().withPrevKV(true).build()))
        .Else(Op.get(k, GetOption.DEFAULT))
        .commit(), "delete " + key);
    if (!r.isSucceeded()) {
      KeyValue current = current(r, 0);
      if (current == null) {
        throw new StorageException.NotFound(key);
      }
      throw new StorageException.Conflict(key, expectedModRevision, current);
    }
    if (r.getDeleteResponses().isEmpty() || r.getDeleteResponses().get(0).getDeleted() == 0) {
      throw new StorageException.NotFound(key);
    }
    return EtcdRevision.of(r.getHeader().getRevision(), 0);
  }

  /** Each event with its previous value from etcd ({@code prevKV}): etcd reads it from its backend per event. */
  @Override
  public Watch watch(String prefix, long afterRevision, WatchListener listener) {
    return watchEtcd(prefix, afterRevision, true, listener,
        (e, key, now) -> e.getPrevKV() == null || e.getPrevKV().getCreateRevision() == 0 ? null : EtcdRevision.keyValue(e.getPrevKV()));
  }

  /**
   * Follows without asking etcd for previous values: etcd answers {@code prevKV} with one more
   * read of its backend per event, which costs it nearly as much as the write itself. The values
   * under {@code prefix} as of {@code afterRevision} are read once here instead, and kept up to
   * date from the events (so this holds the whole range in memory for as long as it runs).
   */
  @Override
  public Watch follow(String prefix, long afterRevision, WatchListener listener) {
    Map<String, KeyValue> current = new HashMap<>();
    // seeded as of the etcd revision before the watch's first; events up to afterRevision itself
    // then update the map without being delivered
    long seed = EtcdRevision.firstEtcdAfter(afterRevision) - 1;
    if (seed > 0) {
      for (KeyValue kv : list(prefix, null, EtcdRevision.whole(seed), 0).items()) {
        current.put(kv.key(), kv);
      }
    }
    // jetcd hands one watch's responses over one at a time, so the map needs no lock
    return watchEtcd(prefix, afterRevision, false, listener, (e, key, now) -> now == null ? current.remove(key) : current.put(key, now));
  }

  /** Where a watch finds an event's previous value; {@code now} is null for a delete. */
  private interface Previous {
    KeyValue of(io.etcd.jetcd.watch.WatchEvent event, String key, KeyValue now);
  }

  /**
   * Watches etcd from the revision holding the first write after {@code afterRevision}; writes of
   * that etcd revision at or before {@code afterRevision} (earlier slots of one txn) are passed
   * to {@code previous} but not delivered.
   */
  private Watch watchEtcd(String prefix, long afterRevision, boolean prevKv, WatchListener listener, Previous previous) {
    WatchOption option = WatchOption.builder()
        .withRange(bytes(Storage.prefixEnd(prefix)))
        .withRevision(EtcdRevision.firstEtcdAfter(afterRevision))
        .withPrevKV(prevKv)
        .build();
    AtomicBoolean ended = new AtomicBoolean();
    io.etcd.jetcd.Watch.Watcher watcher = client.getWatchClient().watch(bytes(prefix), option,
        io.etcd.jetcd.Watch.listener(response -> {
          if (response.isProgressNotify()) {
            // etcd sent every event of this watch up to the header's revision
            if (!ended.get()) {
              listener.onProgress(EtcdRevision.whole(response.getHeader().getRevision()));
            }
            return;
          }
          deliver(response.getEvents(), afterRevision, previous, listener, ended);
        }, error -> {
          if (ended.compareAndSet(false, true)) {
            listener.onError(error instanceof CompactedException c
                ? new StorageException.Compacted(afterRevision, EtcdRevision.of(c.getCompactedRevision(), 0))
                : translate(error, "watch " + prefix));
          }
        }));
    return new Watch() {
      @Override
      public void close() {
        ended.set(true);
        watcher.close();
      }

      @Override
      public void requestProgress() {
        // one request answers every watch of this client's stream, each on its own
        client.getWatchClient().requestProgress();
      }
    };
  }

  private static void deliver(List<io.etcd.jetcd.watch.WatchEvent> events, long afterRevision, Previous previous,
      WatchListener listener, AtomicBoolean ended) {
    for (io.etcd.jetcd.watch.WatchEvent e : events) {
      if (ended.get()) {
        return;
      }
      String key = e.getKeyValue().getKey().toString(StandardCharsets.UTF_8);
      switch (e.getEventType()) {
        case PUT -> {
          KeyValue now = EtcdRevision.keyValue(e.getKeyValue());
          KeyValue prev = previous.of(e, key, now);
          if (now.modRevision() > afterRevision) {
            listener.onEvent(new WatchEvent.Put(now, now.createRevision() == now.modRevision() ? null : prev));
          }
        }
        case DELETE -> {
          KeyValue prev = previous.of(e, key, null);
          long revision = EtcdRevision.of(e.getKeyValue().getModRevision(), 0);
          if (prev != null && revision > afterRevision) {
            listener.onEvent(new WatchEvent.Delete(prev, revision));
          }
        }
        default -> { }
      }
    }
  }

  @Override
  public long currentRevision() {
    return EtcdRevision.whole(await(kv.get(bytes("/"), GetOption.builder().withCountOnly(true).withLimit(1).build()), "revision")
        .getHeader().getRevision());
  }

  @Override
  public void compact(long revision) {
    try {
      await(kv.compact(EtcdRevision.etcd(revision)), "compact");
    } catch (StorageException.Compacted e) {
      // already compacted at or past this revision
    }
  }

  @Override
  public void close() {
    client.close();
  }

  /** Runs each task on the thread that hands it over; jetcd's own steps are all quick. */
  private static final class CallerRunsExecutor extends AbstractExecutorService {
    private volatile boolean shutdown;

    @Override
    public void execute(Runnable task) {
      task.run();
    }

    @Override
    public void shutdown() {
      shutdown = true;
    }

    @Override
    public List<Runnable> shutdownNow() {
      shutdown = true;
      return List.of();
    }

    @Override
    public boolean isShutdown() {
      return shutdown;
    }

    @Override
    public boolean isTerminated() {
      return shutdown;
    }

    @Override
    public boolean awaitTermination(long timeout, TimeUnit unit) {
      return true;
    }
  }
}
