package dev.procurator.api.runtime;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * What one pass of a loop decided, the same shape for every loop: the status the object should
 * have, the actions that move the world toward its spec, the Events to record, and when to look
 * again. A {@link Loop#decide} returns one; the {@link Dispatcher} carries it out in that order:
 * status (once, only when it changed), actions, then Events.
 *
 * @param status the status to write, or null to leave it as it is
 * @param actions what to do, in order; each is handed to {@link Loop#act}
 * @param events what to tell people, recorded once the status and actions succeeded
 * @param requeueAfter when to look again even if nothing changes, or null for "when something does"
 * @param released for an object being deleted: its cleanup is done and the loop's finalizer may go
 * @param statusLast write the status after the actions rather than before (when the status
 *     should only say what the actions have made true, such as a VM taken off a node whose agent
 *     would still act on it)
 */
public record Decision<S, A>(S status, List<A> actions, List<EventSpec> events, Duration requeueAfter, boolean released,
    boolean statusLast) {
  /** A decision whose status is written before its actions. */
  public Decision(S status, List<A> actions, List<EventSpec> events, Duration requeueAfter, boolean released) {
    this(status, actions, events, requeueAfter, released, false);
  }

  public Decision {
    actions = List.copyOf(actions);
    events = List.copyOf(events);
    if (requeueAfter != null && requeueAfter.isNegative()) {
      throw new IllegalArgumentException("negative requeue delay " + requeueAfter);
    }
  }

  /** Nothing to do: the status stays, no action, no Event. */
  public static <S, A> Decision<S, A> none() {
    return new Decision<>(null, List.of(), List.of(), null, false);
  }

  /** The object should have {@code status}, and nothing else is needed. */
  public static <S, A> Decision<S, A> status(S status) {
    return new Decision<>(status, List.of(), List.of(), null, false);
  }

  public Decision<S, A> withStatus(S s) {
    return new Decision<>(s, actions, events, requeueAfter, released, statusLast);
  }

  /** This decision with {@code action} done after the ones it has. */
  public Decision<S, A> act(A action) {
    List<A> a = new ArrayList<>(actions);
    a.add(Objects.requireNonNull(action));
    return new Decision<>(status, a, events, requeueAfter, released, statusLast);
  }

  public Decision<S, A> act(List<? extends A> more) {
    List<A> a = new ArrayList<>(actions);
    a.addAll(more);
    return new Decision<>(status, a, events, requeueAfter, released, statusLast);
  }

  /** This decision with {@code event} recorded after the ones it has. */
  public Decision<S, A> event(EventSpec event) {
    List<EventSpec> e = new ArrayList<>(events);
    e.add(Objects.requireNonNull(event));
    return new Decision<>(status, actions, e, requeueAfter, released, statusLast);
  }

  public Decision<S, A> events(List<EventSpec> more) {
    List<EventSpec> e = new ArrayList<>(events);
    e.addAll(more);
    return new Decision<>(status, actions, e, requeueAfter, released, statusLast);
  }

  /** This decision, looking again after {@code delay} (the sooner of two requeues wins). */
  public Decision<S, A> requeueAfter(Duration delay) {
    Duration d = delay == null || requeueAfter == null ? (delay == null ? requeueAfter : delay)
        : (delay.compareTo(requeueAfter) < 0 ? delay : requeueAfter);
    return new Decision<>(status, actions, events, d, released, statusLast);
  }

  /** This decision, letting the object go once its actions are done (it is being deleted). */
  public Decision<S, A> release() {
    return new Decision<>(status, actions, events, requeueAfter, true, statusLast);
  }

  /** This decision, writing its status after its actions. */
  public Decision<S, A> statusAfterActions() {
    return new Decision<>(status, actions, events, requeueAfter, released, true);
  }
}
