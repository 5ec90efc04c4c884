package dev.procurator.api.runtime;

import io.fabric8.kubernetes.api.model.Condition;
import io.fabric8.kubernetes.api.model.ConditionBuilder;
import java.util.ArrayList;
import java.util.List;

/** Status conditions the Kubernetes way: one per type, and a transition time that moves only when the status does. */
public final class Conditions {
  private Conditions() {}

  /**
   * {@code existing} (may be null) with {@code c} in place of the condition of its type; when that
   * condition had the same status, its lastTransitionTime is kept.
   */
  public static List<Condition> set(List<Condition> existing, Condition c) {
    List<Condition> out = new ArrayList<>(existing == null ? List.of() : existing);
    for (int i = 0; i < out.size(); i++) {
      Condition was = out.get(i);
      if (was.getType().equals(c.getType())) {
        out.set(i, was.getStatus().equals(c.getStatus())
            ? new ConditionBuilder(c).withLastTransitionTime(was.getLastTransitionTime()).build() : c);
        return out;
      }
    }
    out.add(c);
    return out;
  }
}
