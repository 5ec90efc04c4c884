package dev.procurator.controllers.clusters;

import dev.procurator.api.runtime.EventSpec;
import dev.procurator.api.v1alpha1.VM;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

/**
 * What a {@link RolloutStrategy} decided for one template in one pass.
 *
 * @param create how many VMs of the target to create
 * @param delete the VMs to delete
 * @param state the state to carry to the next pass
 * @param promotion why the target became the current revision in this pass, or null
 * @param failure why the target failed in this pass (a canary analysis), or null
 * @param wakeAt when to look again even if nothing changes, or null
 * @param events what to record about the Cluster, before what the pass does with this move
 */
record Move(int create, List<VM> delete, TemplateState state, String promotion, String failure, Instant wakeAt, List<EventSpec> events) {
  Move {
    delete = List.copyOf(delete);
    events = List.copyOf(events);
  }

  static Move of(int create, List<VM> delete, TemplateState state) {
    return new Move(create, delete, state, null, null, null, List.of());
  }

  /** Nothing to create or delete until {@code at}. */
  static Move waitUntil(int create, TemplateState state, Instant at) {
    return new Move(create, List.of(), state, null, null, at, List.of());
  }

  static Move failed(TemplateState state, String why) {
    return new Move(0, List.of(), state, null, why, null, List.of());
  }

  Move promoting(String why) {
    return new Move(create, delete, state, why, failure, wakeAt, events);
  }

  Move wakingAt(Instant at) {
    return new Move(create, delete, state, promotion, failure, at, events);
  }

  /** This move, with {@code earlier} recorded before its own events. */
  Move after(List<EventSpec> earlier) {
    List<EventSpec> all = new ArrayList<>(earlier);
    all.addAll(events);
    return new Move(create, delete, state, promotion, failure, wakeAt, all);
  }
}
