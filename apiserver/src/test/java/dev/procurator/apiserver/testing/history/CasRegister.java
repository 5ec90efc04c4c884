package dev.procurator.apiserver.testing.history;

import dev.procurator.apiserver.testing.history.Operation.Input;
import dev.procurator.apiserver.testing.history.Operation.Output;
import java.util.List;
import java.util.Set;

/**
 * The sequential specification of one object of the API: a compare-and-set register that may be
 * absent, keyed by resourceVersion.
 *
 * <h2>State</h2>
 * Absent, or present holding a value at a resourceVersion. Operations:
 * <ul>
 *   <li>{@code create(v)}: on absent, becomes {@code (v, rv)} and answers {@code ok rv}; on present
 *       answers AlreadyExists and changes nothing.
 *   <li>{@code get}: answers the value and resourceVersion, or NotFound on absent.
 *   <li>{@code update(v, expected)}: on present at {@code expected}, becomes {@code (v, rv)} and
 *       answers {@code ok rv}; on present at another resourceVersion answers Conflict; on absent
 *       NotFound.
 *   <li>{@code delete}: on present becomes absent and answers ok; on absent NotFound.
 * </ul>
 *
 * <h2>ResourceVersions are not predicted</h2>
 * The server assigns resourceVersions; they are opaque strings, so the model cannot know which
 * one a write will get. Instead a write's answer names it: a create or update answering
 * {@code ok rv=R} moves the object to the state {@code (v, R)}, and from then on {@code R}
 * identifies exactly that state. A read answering {@code (v, R)} must find the object in state
 * {@code (v, R)}: the same value and the same resourceVersion as the write that answered
 * {@code R}; an update expecting {@code R} succeeds only on that state. So a read of the right
 * value at another resourceVersion, a read of a state already overwritten, and an update accepted
 * on a resourceVersion that is no longer current are all refused.
 *
 * <p>A write with an {@link Output.Unknown unknown outcome} may have taken effect without the
 * client learning its resourceVersion. Its state is {@code (v, ?w)}: present, holding v, at the
 * resourceVersion of write {@code w}, not yet known. A read answering {@code (v, R)} matches it
 * only when {@code R} is not the resourceVersion any acknowledged write on this object answered
 * (those are taken; the set is the {@code known} argument), and the read then binds it: the state
 * becomes {@code (v, R)}. An update expecting an unknown {@code R} likewise may match a
 * {@code ?w} state, or conflict with it. This never refuses a history a correct server could
 * produce; it may accept a few that reuse one unseen resourceVersion for two unseen writes, which
 * a test whose every write puts a different value cannot produce anyway (the value then names
 * the write).
 *
 * <h2>Unknown outcomes</h2>
 * An operation without an answer may have taken effect or not: {@link #step} returns both
 * successor states (a write with an unknown outcome is nondeterministic), and the checker tries
 * each. An update or delete with an unknown outcome on an absent object can only have failed.
 *
 * <p>The model assumes every write changes something (as with a new value per write); an update
 * that writes the same value again might keep its resourceVersion on a real server.
 */
public final class CasRegister {
  /** The object's state: absent ({@code value == null}), or a value at a resourceVersion. */
  public record State(String value, String rv, int unseenWrite) {
    public static final State ABSENT = new State(null, null, -1);

    /** Present at a resourceVersion some answer named. */
    static State at(String value, String rv) {
      return new State(value, rv, -1);
    }

    /** Present as written by operation {@code write}, whose resourceVersion nobody has seen. */
    static State unseen(String value, int write) {
      return new State(value, null, write);
    }

    boolean present() {
      return value != null;
    }

    /** Whether a request naming resourceVersion {@code r} may be naming this state. */
    boolean mayBeAt(String r, Set<String> known) {
      return rv != null ? rv.equals(r) : !known.contains(r);
    }

    /** Whether this state's resourceVersion may differ from {@code r}. */
    boolean mayDifferFrom(String r) {
      return rv == null || !rv.equals(r);
    }

    @Override
    public String toString() {
      if (!present()) {
        return "absent";
      }
      return value + " rv=" + (rv != null ? rv : "? (unanswered write #" + unseenWrite + ")");
    }
  }

  private CasRegister() {}

  /**
   * The states the object may be in after {@code op} ran alone on {@code s}, its answer being
   * {@code op.output()}; empty when that answer is impossible from {@code s}. {@code known} is
   * the set of resourceVersions acknowledged writes on this object answered.
   */
  public static List<State> step(State s, Operation op, Set<String> known) {
    Output out = op.output();
    return switch (op.input()) {
      case Input.Create c -> switch (out) {
        case Output.Written w -> s.present() ? List.of() : List.of(State.at(c.value(), w.rv()));
        case Output.AlreadyExists a -> s.present() ? List.of(s) : List.of();
        case Output.Unknown u -> s.present() ? List.of(s) : List.of(State.unseen(c.value(), op.id()), s);
        default -> List.of();
      };
      case Input.Get g -> switch (out) {
        case Output.Read r -> s.present() && s.value().equals(r.value()) && s.mayBeAt(r.rv(), known)
            ? List.of(State.at(r.value(), r.rv())) : List.of();
        case Output.NotFound n -> s.present() ? List.of() : List.of(s);
        case Output.Unknown u -> List.of(s);
        default -> List.of();
      };
      case Input.Update u -> switch (out) {
        case Output.Written w -> s.present() && s.mayBeAt(u.expectedRv(), known) ? List.of(State.at(u.value(), w.rv())) : List.of();
        case Output.Conflict c -> s.present() && s.mayDifferFrom(u.expectedRv()) ? List.of(s) : List.of();
        case Output.NotFound n -> s.present() ? List.of() : List.of(s);
        case Output.Unknown x -> s.present() && s.mayBeAt(u.expectedRv(), known)
            ? List.of(State.unseen(u.value(), op.id()), s) : List.of(s);
        default -> List.of();
      };
      case Input.Delete d -> switch (out) {
        case Output.Deleted x -> s.present() ? List.of(State.ABSENT) : List.of();
        case Output.NotFound n -> s.present() ? List.of() : List.of(s);
        case Output.Unknown x -> s.present() ? List.of(State.ABSENT, s) : List.of(s);
        default -> List.of();
      };
    };
  }

  /** Whether {@code op}'s answer says it changed nothing, so that leaving it out can only make a history easier to explain. */
  static boolean observesOnly(Operation op) {
    return switch (op.output()) {
      case Output.Read r -> true;
      case Output.NotFound n -> true;
      case Output.AlreadyExists a -> true;
      case Output.Conflict c -> true;
      case Output.Unknown u -> op.input() instanceof Input.Get;
      default -> false;
    };
  }
}
