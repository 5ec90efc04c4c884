package dev.procurator.apiserver.testing.history;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Records what concurrent clients did, for {@link LinearizabilityChecker}. Thread-safe: each
 * client calls {@link #begin} just before it sends a request and ends the returned
 * {@link Pending} as soon as it has the answer ({@link Pending#end}), knows it has none
 * ({@link Pending#unknown}), or knows the request never reached the server
 * ({@link Pending#notSent}, for a refused connection). A pending operation never ended counts as
 * unknown.
 */
public final class History {
  private final long origin = System.nanoTime();
  private final AtomicInteger ids = new AtomicInteger();
  private final List<Pending> pending = new ArrayList<>();

  /** The time the history started; operations are printed relative to it. */
  public long origin() {
    return origin;
  }

  /** Starts an operation of {@code client} on {@code key}: call this just before sending it. */
  public Pending begin(int client, String key, Operation.Input input) {
    Pending p = new Pending(ids.getAndIncrement(), client, key, input, System.nanoTime());
    synchronized (pending) {
      pending.add(p);
    }
    return p;
  }

  /** Every operation recorded so far, in call order; pending ones have an unknown outcome. */
  public List<Operation> operations() {
    List<Operation> out = new ArrayList<>();
    synchronized (pending) {
      for (Pending p : pending) {
        Operation op = p.operation();
        if (op != null) {
          out.add(op);
        }
      }
    }
    out.sort(Comparator.comparingLong(Operation::call));
    return out;
  }

  /** An operation sent but not yet answered. */
  public static final class Pending {
    private final int id;
    private final int client;
    private final String key;
    private final Operation.Input input;
    private final long call;
    private Operation done;
    private boolean dropped;

    private Pending(int id, int client, String key, Operation.Input input, long call) {
      this.id = id;
      this.client = client;
      this.key = key;
      this.input = input;
      this.call = call;
    }

    /** The answer came, now. */
    public synchronized Operation end(Operation.Output output) {
      done = new Operation(id, client, key, input, output, call, System.nanoTime());
      return done;
    }

    /** No answer will come (a timeout, a broken connection): it may or may not have taken effect. */
    public synchronized Operation unknown() {
      return end(new Operation.Output.Unknown());
    }

    /** The request certainly never reached the server (the connection was refused): forget it. */
    public synchronized void notSent() {
      dropped = true;
    }

    private synchronized Operation operation() {
      if (dropped) {
        return null;
      }
      return done != null ? done : new Operation(id, client, key, input, new Operation.Output.Unknown(), call, Operation.NEVER);
    }
  }
}
