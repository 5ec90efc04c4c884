package dev.procurator.apiserver.testing.history;

import dev.procurator.apiserver.testing.history.CasRegister.State;
import dev.procurator.apiserver.testing.history.Operation.Input;
import dev.procurator.apiserver.testing.history.Operation.Output;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * Whether a history of operations on API objects is linearizable: whether each operation can be
 * given one instant between its call and its return (any instant after its call, or none, for one
 * with an unknown outcome) so that, in the order of those instants, every answer is the one the
 * {@link CasRegister} gives.
 *
 * <p>Each object is checked on its own: linearizability is compositional (Herlihy and Wing), so a
 * history is linearizable exactly when each object's sub-history is (Porcupine and Knossos
 * partition the same way). For one object this is the Wing-Gong search with Lowe's pruning, as
 * Porcupine does it: calls and returns in one doubly linked list in time order; walking it, a
 * call whose operation can go next (the model accepts its answer) is lifted out of the list with
 * its return and pushed on a stack; reaching a return means the pending operation it closes
 * could not be placed, so the search backtracks: the last lifted operation is put back (the list
 * undoes itself from the removed nodes' own links) and the walk goes on after it. Every
 * (set of operations placed, state) pair reached is remembered, and a step reaching one already
 * seen is not taken again: the rest of the search from there is the same, so it failed before.
 * Operations whose outcome is unknown may lead to more than one state; each is tried.
 *
 * <p>When an object's history is not linearizable, the answer names it and the smallest anomaly
 * found: the shortest prefix of its history (cut at a return; operations still running at the
 * cut become unknown) that no order explains; then the latest start at which the operations from
 * there on are still unexplainable whatever state the object was in at that start (operations
 * running across it become unknown); then, of those, without each read or failed operation that
 * is not needed for the contradiction. (Leaving out an operation that only observed can only make
 * a history easier to explain, so what remains is still a contradiction of the original; leaving
 * out a write, even an unanswered one, could make a new one, so writes stay.)
 *
 * <p>The search is exponential in the worst case: it gives up with {@link Verdict#UNKNOWN} when its
 * budget of time runs out.
 */
public final class LinearizabilityChecker {
  /** The answer. */
  public enum Verdict { LINEARIZABLE, NOT_LINEARIZABLE, UNKNOWN }

  /**
   * The answer and, for {@link Verdict#NOT_LINEARIZABLE}, the object and the operations of the
   * smallest anomaly found, in call order, as recorded ({@code answerIgnored}: those whose answer
   * the anomaly does not rely on, as it came after its cut or start; {@code windowStart} is the time from which they are
   * unexplainable whatever the object's state was then; the history's start when every
   * operation before is needed).
   */
  public record Result(Verdict verdict, String key, List<Operation> anomaly, Set<Integer> answerIgnored, long windowStart, int operations) {
    public boolean linearizable() {
      return verdict == Verdict.LINEARIZABLE;
    }

    /** A readable account, times relative to {@code origin} (see {@link History#origin()}). */
    public String describe(long origin) {
      return switch (verdict) {
        case LINEARIZABLE -> "linearizable (" + operations + " operations)";
        case UNKNOWN -> "unknown: the check ran out of time on " + operations + " operations" + (key == null ? "" : " (object " + key + ")");
        case NOT_LINEARIZABLE -> {
          StringBuilder b = new StringBuilder("not linearizable: object ").append(key).append(", ").append(anomaly.size())
              .append(" operations no order explains");
          if (windowStart != Long.MIN_VALUE) {
            b.append(String.format(java.util.Locale.ROOT, " whatever its state was at +%.3f ms", (windowStart - origin) / 1e6));
          }
          b.append(":");
          for (Operation op : anomaly) {
            b.append("\n  ").append(op.describe(origin));
            if (answerIgnored.contains(op.id())) {
              b.append("  (answer not needed: still running at the cut or the window's start, so taken as unknown)");
            }
          }
          yield b.toString();
        }
      };
    }
  }

  /** The search ran out of its budget. */
  private static final class OutOfBudget extends RuntimeException {
    OutOfBudget() {
      super(null, null, false, false);
    }
  }

  private final long deadline;

  private LinearizabilityChecker(Duration budget) {
    long now = System.nanoTime();
    this.deadline = budget.toNanos() > Long.MAX_VALUE - now ? Long.MAX_VALUE : now + budget.toNanos();
  }

  /** Checks {@code history} (operations with distinct ids); gives up with {@link Verdict#UNKNOWN} after {@code budget}. */
  public static Result check(List<Operation> history, Duration budget) {
    Map<String, List<Operation>> byKey = new TreeMap<>();
    Set<Integer> ids = new HashSet<>();
    for (Operation op : history) {
      if (!ids.add(op.id())) {
        throw new IllegalArgumentException("two operations have id " + op.id());
      }
      byKey.computeIfAbsent(op.key(), k -> new ArrayList<>()).add(op);
    }
    LinearizabilityChecker checker = new LinearizabilityChecker(budget);
    String unknownKey = null;
    for (Map.Entry<String, List<Operation>> e : byKey.entrySet()) {
      List<Operation> ops = e.getValue();
      try {
        if (!checker.linearizable(ops, List.of(State.ABSENT))) {
          return checker.smallestAnomaly(e.getKey(), ops);
        }
      } catch (OutOfBudget out) {
        unknownKey = unknownKey == null ? e.getKey() : unknownKey;
      }
    }
    return unknownKey == null
        ? new Result(Verdict.LINEARIZABLE, null, List.of(), Set.of(), Long.MIN_VALUE, history.size())
        : new Result(Verdict.UNKNOWN, unknownKey, List.of(), Set.of(), Long.MIN_VALUE, history.size());
  }

  /** The resourceVersions acknowledged writes answered: no unanswered write can have one of them. */
  private static Set<String> knownVersions(List<Operation> ops) {
    Set<String> known = new HashSet<>();
    for (Operation op : ops) {
      if (op.output() instanceof Output.Written w) {
        known.add(w.rv());
      }
    }
    return known;
  }

  // ---------------------------------------------------------------- the search, one object

  /** A call or a return in the doubly linked list of one object's history. */
  private static final class Node {
    final int index; // the operation's index in the object's history, its bit in the linearized set
    final Operation op;
    final Node match; // for a call: its return; for a return: null
    Node prev;
    Node next;

    Node(int index, Operation op, Node match) {
      this.index = index;
      this.op = op;
      this.match = match;
    }
  }

  /** An operation placed: the state before it, the states it could lead to, and which one was taken. */
  private record Placed(Node call, State before, List<State> successors, int taken) {}

  /** A (set of operations placed, state) pair the search has reached. */
  private static final class Seen {
    final long[] placed;
    final State state;
    final int hash;

    Seen(long[] placed, State state) {
      this.placed = placed;
      this.state = state;
      this.hash = 31 * Arrays.hashCode(placed) + state.hashCode();
    }

    @Override
    public boolean equals(Object o) {
      return o instanceof Seen s && hash == s.hash && state.equals(s.state) && Arrays.equals(placed, s.placed);
    }

    @Override
    public int hashCode() {
      return hash;
    }
  }

  /** Whether {@code ops} (one object's) are linearizable from one of {@code initial}. */
  boolean linearizable(List<Operation> ops, List<State> initial) {
    // the versions of writes acknowledged in this history: those made unknown by a cut are no longer known
    Set<String> known = knownVersions(ops);
    for (State s : initial) {
      if (search(ops, s, known)) {
        return true;
      }
    }
    return false;
  }

  private boolean search(List<Operation> ops, State initial, Set<String> known) {
    Node head = linkedEntries(ops);
    long[] placed = new long[(ops.size() + 63) / 64];
    Set<Seen> seen = new HashSet<>();
    List<Placed> stack = new ArrayList<>();
    State state = initial;
    Node entry = head.next;
    long steps = 0;
    while (head.next != null) {
      if ((++steps & 1023) == 0 && System.nanoTime() > deadline) {
        throw new OutOfBudget();
      }
      if (entry.match != null) {
        List<State> successors = CasRegister.step(state, entry.op, known);
        State next = place(entry, state, successors, 0, placed, seen, stack);
        if (next != null) {
          state = next;
          entry = head.next;
        } else {
          entry = entry.next;
        }
      } else {
        // a return: the operation it closes cannot be placed now, so take back the last placed one
        if (stack.isEmpty()) {
          return false;
        }
        Placed top = stack.remove(stack.size() - 1);
        clear(placed, top.call().index);
        unlift(top.call());
        state = top.before();
        State next = place(top.call(), state, top.successors(), top.taken() + 1, placed, seen, stack);
        if (next != null) {
          state = next;
          entry = head.next;
        } else {
          entry = top.call().next;
        }
      }
    }
    return true;
  }

  /**
   * Places the operation of {@code call} leading to the first of {@code successors} from
   * {@code from} on whose (placed set, state) pair is new; returns that state, or null if none.
   */
  private static State place(Node call, State before, List<State> successors, int from, long[] placed, Set<Seen> seen,
      List<Placed> stack) {
    for (int i = from; i < successors.size(); i++) {
      State next = successors.get(i);
      set(placed, call.index);
      if (seen.add(new Seen(placed.clone(), next))) {
        stack.add(new Placed(call, before, successors, i));
        lift(call);
        return next;
      }
      clear(placed, call.index);
    }
    return null;
  }

  /** A head node followed by every call and return of {@code ops} in time order, calls first at equal times. */
  private static Node linkedEntries(List<Operation> ops) {
    record Event(long time, boolean isReturn, int index) {}
    List<Event> events = new ArrayList<>(ops.size() * 2);
    for (int i = 0; i < ops.size(); i++) {
      events.add(new Event(ops.get(i).call(), false, i));
      events.add(new Event(ops.get(i).ret(), true, i));
    }
    events.sort(Comparator.comparingLong(Event::time).thenComparing(Event::isReturn).thenComparingInt(Event::index));
    Node[] returns = new Node[ops.size()];
    Node head = new Node(-1, null, null);
    Node last = head;
    // returns are linked before their calls are made: walk backwards
    Node[] nodes = new Node[events.size()];
    for (int i = events.size() - 1; i >= 0; i--) {
      Event e = events.get(i);
      if (e.isReturn()) {
        returns[e.index()] = new Node(e.index(), ops.get(e.index()), null);
        nodes[i] = returns[e.index()];
      } else {
        nodes[i] = new Node(e.index(), ops.get(e.index()), returns[e.index()]);
      }
    }
    for (Node n : nodes) {
      last.next = n;
      n.prev = last;
      last = n;
    }
    return head;
  }

  /** Takes a call and its return out of the list; their own links stay, for {@link #unlift}. */
  private static void lift(Node call) {
    call.prev.next = call.next;
    call.next.prev = call.prev;
    Node ret = call.match;
    ret.prev.next = ret.next;
    if (ret.next != null) {
      ret.next.prev = ret.prev;
    }
  }

  /** Puts back what {@link #lift} took out, the return first (the reverse order). */
  private static void unlift(Node call) {
    Node ret = call.match;
    ret.prev.next = ret;
    if (ret.next != null) {
      ret.next.prev = ret;
    }
    call.prev.next = call;
    call.next.prev = call;
  }

  private static void set(long[] bits, int i) {
    bits[i >>> 6] |= 1L << (i & 63);
  }

  private static void clear(long[] bits, int i) {
    bits[i >>> 6] &= ~(1L << (i & 63));
  }

  // ---------------------------------------------------------------- the smallest anomaly

  private Result smallestAnomaly(String key, List<Operation> ops) {
    List<Operation> anomaly = ops;
    long windowStart = Long.MIN_VALUE;
    try {
      anomaly = shortestPrefix(ops);
      List<State> anyState = anyState(ops);
      long[] start = {Long.MIN_VALUE};
      anomaly = latestWindow(anomaly, anyState, start);
      windowStart = start[0];
      anomaly = withoutUnneededObservations(anomaly, windowStart == Long.MIN_VALUE ? List.of(State.ABSENT) : anyState);
    } catch (OutOfBudget out) {
      // the smallest found so far
    }
    Map<Integer, Operation> recorded = new java.util.HashMap<>();
    ops.forEach(op -> recorded.put(op.id(), op));
    List<Operation> sorted = new ArrayList<>();
    Set<Integer> ignored = new java.util.TreeSet<>();
    for (Operation op : anomaly) {
      Operation original = recorded.get(op.id());
      sorted.add(original);
      if (op.unknown() && !original.unknown()) {
        ignored.add(op.id());
      }
    }
    sorted.sort(Comparator.comparingLong(Operation::call));
    return new Result(Verdict.NOT_LINEARIZABLE, key, List.copyOf(sorted), Set.copyOf(ignored), windowStart, ops.size());
  }

  /**
   * The operations called up to {@code cut}, writes still running then with an unknown outcome
   * (one whose answer says it changed nothing is left out: in any order that explains the whole
   * history it changes nothing, so leaving it out keeps that order valid).
   */
  private static List<Operation> cutAt(List<Operation> ops, long cut) {
    List<Operation> out = new ArrayList<>();
    for (Operation op : ops) {
      if (op.ret() <= cut) {
        out.add(op);
      } else if (op.call() <= cut && !CasRegister.observesOnly(op)) {
        out.add(op.withUnknownOutcome());
      }
    }
    return out;
  }

  /** The shortest prefix, cut just after a return, that is not linearizable. */
  private List<Operation> shortestPrefix(List<Operation> ops) {
    long[] cuts = ops.stream().mapToLong(Operation::ret).filter(t -> t != Operation.NEVER).sorted().distinct().toArray();
    int lo = 0;
    int hi = cuts.length; // cuts.length stands for the whole history, known to be bad
    while (lo < hi) {
      int mid = (lo + hi) >>> 1;
      if (!linearizable(cutAt(ops, cuts[mid]), List.of(State.ABSENT))) {
        hi = mid;
      } else {
        lo = mid + 1;
      }
    }
    return hi == cuts.length ? ops : cutAt(ops, cuts[hi]);
  }

  /** Every state the object may have been in: absent, or what any write or read put or found. */
  private static List<State> anyState(List<Operation> ops) {
    Set<State> states = new LinkedHashSet<>();
    states.add(State.ABSENT);
    for (Operation op : ops) {
      switch (op.output()) {
        case Output.Written w -> states.add(State.at(written(op), w.rv()));
        case Output.Read r -> states.add(State.at(r.value(), r.rv()));
        case Output.Unknown u when written(op) != null -> states.add(State.unseen(written(op), op.id()));
        default -> { }
      }
    }
    return List.copyOf(states);
  }

  private static String written(Operation op) {
    return switch (op.input()) {
      case Input.Create c -> c.value();
      case Input.Update u -> u.value();
      default -> null;
    };
  }

  /** The operations called from {@code start} on, writes called before but running then with an unknown outcome. */
  private static List<Operation> windowFrom(List<Operation> ops, long start) {
    List<Operation> out = new ArrayList<>();
    for (Operation op : ops) {
      if (op.call() >= start) {
        out.add(op);
      } else if (op.ret() > start && !CasRegister.observesOnly(op)) {
        out.add(op.withUnknownOutcome());
      }
    }
    return out;
  }

  /**
   * The operations from the latest call time on that no order explains whatever the object's
   * state was then ({@code start[0]} set to it), or {@code prefix} itself when every start needs
   * what came before.
   */
  private List<Operation> latestWindow(List<Operation> prefix, List<State> anyState, long[] start) {
    long[] starts = prefix.stream().mapToLong(Operation::call).sorted().distinct().toArray();
    for (int i = starts.length - 1; i > 0; i--) {
      List<Operation> window = windowFrom(prefix, starts[i]);
      if (!linearizable(window, anyState)) {
        start[0] = starts[i];
        return window;
      }
    }
    return prefix;
  }

  /** {@code ops} without each operation that only observed and that the contradiction does not need. */
  private List<Operation> withoutUnneededObservations(List<Operation> ops, List<State> initial) {
    List<Operation> kept = new ArrayList<>(ops);
    for (int i = kept.size() - 1; i >= 0; i--) {
      Operation op = kept.get(i);
      if (CasRegister.observesOnly(op)) {
        kept.remove(i);
        if (linearizable(kept, initial)) {
          kept.add(i, op);
        }
      }
    }
    return kept;
  }
}
