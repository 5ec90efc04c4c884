package dev.procurator.apiserver.storage;

import io.etcd.jetcd.ByteSequence;
import io.etcd.jetcd.common.exception.ErrorCode;
import io.etcd.jetcd.common.exception.EtcdException;
import io.etcd.jetcd.KV;
import io.etcd.jetcd.kv.TxnResponse;
import io.etcd.jetcd.op.Cmp;
import io.etcd.jetcd.op.CmpTarget;
import io.etcd.jetcd.op.Op;
import io.etcd.jetcd.options.GetOption;
import io.etcd.jetcd.options.PutOption;
import io.grpc.Status;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.Iterator;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.function.BiFunction;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Creates and compare-and-swap updates for {@link EtcdStorage}, committed together when many are
 * waiting (group commit).
 *
 * <p>Every create and update has to be a txn (put if the key is absent, or still at the expected
 * revision), and etcd 3.4 pays a fixed cost per write txn on top of each put: raw conditional
 * creates reach about half the rate of plain puts there. So up to {@code maxInFlight} txns go to
 * etcd at once, one write each, and writes arriving while all of those are out queue up; as each
 * txn returns, the queue's oldest writes (up to {@link #MAX_WRITES}, distinct keys, about {@link
 * #MAX_BATCH_BYTES}) go out as one txn whose compare holds every write's condition. A lone write
 * waits for nothing. When a batch's compare fails, the txn's else branch has read every key in the
 * same snapshot: the writes whose own condition failed get their error, and the rest go out again
 * at the head of the queue; at least one write is settled by every txn, so this always ends. An
 * etcd configured with a lower {@code --max-txn-ops} or {@code --max-request-bytes} refuses a
 * large batch as an invalid argument: its writes go out again, and batches from then on hold half
 * as many.
 *
 * <p>Writes in one txn share etcd's revision and are told apart by {@link EtcdRevision}'s slots.
 * Thread-safe.
 */
final class EtcdWrites {
  /** Writes per txn, well under etcd's default {@code --max-txn-ops} of 128 and below {@link EtcdRevision#LAST}. */
  static final int MAX_WRITES = 64;
  /** Bytes of values per txn, under etcd's default {@code --max-request-bytes} of 1.5 MiB. */
  static final int MAX_BATCH_BYTES = 1024 * 1024;
  /** How far into the queue a batch looks for keys it does not hold yet. */
  private static final int MAX_SCAN = 4 * MAX_WRITES;
  private static final Logger log = LoggerFactory.getLogger(EtcdWrites.class);

  private final KV kv;
  private final int maxInFlight;
  private final BiFunction<CompletableFuture<TxnResponse>, String, CompletableFuture<TxnResponse>> bounded;
  private final ArrayDeque<Write> queue = new ArrayDeque<>();
  private int inFlight;
  private int maxWrites = MAX_WRITES;

  /**
   * {@code bounded} puts the storage's timeout and error translation on a txn future, named for
   * what it does.
   */
  EtcdWrites(KV kv, int maxInFlight,
      BiFunction<CompletableFuture<TxnResponse>, String, CompletableFuture<TxnResponse>> bounded) {
    this.kv = kv;
    this.maxInFlight = maxInFlight;
    this.bounded = bounded;
  }

  /**
   * Writes {@code value} to {@code key} if the key is absent ({@code expectedModRevision} 0) or
   * last modified at {@code expectedModRevision}; completes with the write's storage revision.
   */
  CompletableFuture<Long> write(String key, long expectedModRevision, byte[] value) {
    Write w = new Write(key, ByteSequence.from(key, StandardCharsets.UTF_8), expectedModRevision, value,
        new CompletableFuture<>());
    synchronized (this) {
      if (inFlight >= maxInFlight) {
        queue.addLast(w);
        return w.result;
      }
      inFlight++;
    }
    send(List.of(w));
    return w.result;
  }

  private void send(List<Write> batch) {
    List<Cmp> cmps = new ArrayList<>(batch.size());
    List<Op> puts = new ArrayList<>(batch.size());
    List<Op> gets = new ArrayList<>(batch.size());
    for (int slot = 0; slot < batch.size(); slot++) {
      Write w = batch.get(slot);
      cmps.add(w.condition());
      puts.add(Op.put(w.etcdKey, ByteSequence.from(EtcdRevision.frame(w.value, slot)), PutOption.DEFAULT));
      gets.add(Op.get(w.etcdKey, GetOption.DEFAULT));
    }
    String what = batch.size() == 1 ? batch.get(0).describe() : batch.size() + " writes starting with " + batch.get(0).describe();
    CompletableFuture<TxnResponse> txn;
    try {
      txn = kv.txn().If(cmps.toArray(Cmp[]::new)).Then(puts.toArray(Op[]::new)).Else(gets.toArray(Op[]::new)).commit();
    } catch (RuntimeException e) {
      txn = CompletableFuture.failedFuture(e);
    }
    bounded.apply(txn, what).whenComplete((r, failure) -> settle(batch, r, failure));
  }

  /** Completes what {@code r} decided, requeues the rest, and sends the next batch before answering anyone. */
  private void settle(List<Write> batch, TxnResponse r, Throwable failure) {
    List<Runnable> answers = new ArrayList<>(batch.size());
    List<Write> again = new ArrayList<>();
    boolean split = failure != null && batch.size() > 1 && invalidArgument(failure);
    if (split) {
      log.warn("etcd refused a txn of {} writes ({}); sending at most {} per txn from now on", batch.size(),
          StorageException.cause(failure).getMessage(), batch.size() / 2);
      again.addAll(batch);
    } else if (failure != null) {
      StorageException error = StorageException.of(failure);
      batch.forEach(w -> answers.add(() -> w.result.completeExceptionally(error)));
    } else if (r.isSucceeded()) {
      long etcdRevision = r.getHeader().getRevision();
      for (int slot = 0; slot < batch.size(); slot++) {
        Write w = batch.get(slot);
        long revision = EtcdRevision.of(etcdRevision, slot);
        answers.add(() -> w.result.complete(revision));
      }
    } else {
      for (int i = 0; i < batch.size(); i++) {
        Write w = batch.get(i);
        StorageException refusal = w.refusal(EtcdStorage.current(r, i), batch.size() == 1);
        if (refusal != null) {
          answers.add(() -> w.result.completeExceptionally(refusal));
        } else {
          again.add(w);
        }
      }
    }
    List<Write> next;
    synchronized (this) {
      if (split) {
        maxWrites = Math.min(maxWrites, batch.size() / 2);
      }
      for (int i = again.size() - 1; i >= 0; i--) {
        queue.addFirst(again.get(i));
      }
      next = take();
      if (next.isEmpty()) {
        inFlight--;
      }
    }
    if (!next.isEmpty()) {
      send(next);
    }
    answers.forEach(Runnable::run);
  }

  /** The oldest queued writes that fit in one txn, each key once; writes already timed out are dropped. */
  private List<Write> take() {
    List<Write> batch = new ArrayList<>();
    Set<String> keys = new HashSet<>();
    long bytes = 0;
    int scanned = 0;
    for (Iterator<Write> it = queue.iterator(); it.hasNext() && batch.size() < maxWrites && scanned < MAX_SCAN; ) {
      Write w = it.next();
      if (w.result.isDone()) {
        it.remove();
        continue;
      }
      scanned++;
      if (!batch.isEmpty() && bytes + w.value.length > MAX_BATCH_BYTES) {
        break;
      }
      if (keys.add(w.key)) {
        it.remove();
        batch.add(w);
        bytes += w.value.length;
      }
    }
    return batch;
  }

  /** Whether etcd refused the request itself (too many operations, too large), not the writes in it. */
  private static boolean invalidArgument(Throwable failure) {
    for (Throwable t = failure; t != null; t = t.getCause()) {
      if (t instanceof EtcdException e && e.getErrorCode() == ErrorCode.INVALID_ARGUMENT
          || Status.fromThrowable(t).getCode() == Status.Code.INVALID_ARGUMENT) {
        return true;
      }
    }
    return false;
  }

  private record Write(String key, ByteSequence etcdKey, long expected, byte[] value, CompletableFuture<Long> result) {
    boolean create() {
      return expected == 0;
    }

    Cmp condition() {
      return create()
          ? new Cmp(etcdKey, Cmp.Op.EQUAL, CmpTarget.createRevision(0))
          : new Cmp(etcdKey, Cmp.Op.EQUAL, CmpTarget.modRevision(EtcdRevision.etcdModRevision(expected)));
    }

    /**
     * What this write fails with when the key holds {@code current} (null: absent), or null if its
     * condition holds. A write alone in a txn whose compare failed always fails.
     */
    StorageException refusal(KeyValue current, boolean alone) {
      if (create()) {
        return current != null || alone ? new StorageException.KeyExists(key) : null;
      }
      if (current == null) {
        return new StorageException.NotFound(key);
      }
      boolean holds = EtcdRevision.etcd(current.modRevision()) == EtcdRevision.etcd(expected);
      return holds && !alone ? null : new StorageException.Conflict(key, expected, current);
    }

    String describe() {
      return (create() ? "create " : "update ") + key;
    }
  }
}
