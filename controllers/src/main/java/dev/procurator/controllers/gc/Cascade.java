package dev.procurator.controllers.gc;

import dev.procurator.api.runtime.Decision;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.OwnerReference;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * The garbage collector's decision for one object, as a pure function of the object, what is
 * known of its owners, and its dependents, after Kubernetes' garbage collector:
 * <ul>
 *   <li>an object all of whose owners are gone is deleted (in the background: its own
 *       dependents follow it the same way);
 *   <li>an owner being deleted in the foreground ({@code foregroundDeletion} finalizer) has its
 *       dependents deleted in the foreground too, and is released once none is left;
 *   <li>an owner being deleted with orphaning ({@code orphan} finalizer) has its reference
 *       removed from every dependent, and is released then.
 * </ul>
 */
public final class Cascade {
  public static final String FOREGROUND = "foregroundDeletion";
  public static final String ORPHAN = "orphan";

  private Cascade() {}

  /** What is known about an owner: there, gone, or not to be found out (a kind this server does not serve). */
  public enum Owner { PRESENT, ABSENT, UNKNOWN }

  /** One step. */
  public sealed interface Action {
    /** Delete the object itself, its dependents in the background. */
    record DeleteSelf(String why) implements Action {}

    /** Delete a dependent, its own dependents first (foreground). */
    record DeleteDependent(GcKey dependent) implements Action {}

    /** Remove the object's reference from a dependent. */
    record Orphan(GcKey dependent) implements Action {}

    /** Remove one of the garbage collector's finalizers from the object: its cascade is done. */
    record RemoveFinalizer(String finalizer) implements Action {}
  }

  /** A dependent as the decision needs it: its key and whether it is already being deleted. */
  public record Dependent(GcKey key, boolean deleting) {}

  /**
   * @param owners what is known of each of the object's owners, by uid
   * @param dependents the objects that name this one as an owner
   */
  public static <S> Decision<S, Action> decide(HasMetadata object, Map<String, Owner> owners, List<Dependent> dependents) {
    return Decision.<S, Action>none().act(actions(object, owners, dependents));
  }

  static List<Action> actions(HasMetadata object, Map<String, Owner> owners, List<Dependent> dependents) {
    List<Action> out = new ArrayList<>();
    var meta = object.getMetadata();
    List<String> finalizers = meta.getFinalizers() == null ? List.of() : meta.getFinalizers();
    boolean deleting = meta.getDeletionTimestamp() != null;
    if (deleting && finalizers.contains(ORPHAN)) {
      dependents.forEach(d -> out.add(new Action.Orphan(d.key())));
      if (dependents.isEmpty()) {
        out.add(new Action.RemoveFinalizer(ORPHAN));
      }
      return out;
    }
    if (deleting && finalizers.contains(FOREGROUND)) {
      dependents.stream().filter(d -> !d.deleting()).forEach(d -> out.add(new Action.DeleteDependent(d.key())));
      if (dependents.isEmpty()) {
        out.add(new Action.RemoveFinalizer(FOREGROUND));
      }
      return out;
    }
    List<OwnerReference> refs = meta.getOwnerReferences() == null ? List.of() : meta.getOwnerReferences();
    if (!deleting && !refs.isEmpty() && refs.stream().allMatch(r -> owners.get(r.getUid()) == Owner.ABSENT)) {
      out.add(new Action.DeleteSelf("its owner" + (refs.size() == 1 ? " " + refs.getFirst().getKind() + "/" + refs.getFirst().getName()
          + " is" : "s are") + " gone"));
    }
    return out;
  }
}
