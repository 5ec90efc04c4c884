package dev.procurator.controllers.clusters;

import dev.procurator.api.v1alpha1.VMSpec;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * One template's ControllerRevisions after a pass: the target's is recorded, the target's and the
 * current one's are kept, and of the others the newest {@code limit}; every closure a kept
 * revision boots stays pinned, as a rollback may boot it.
 *
 * @param actions the revisions to create and delete
 * @param closures the closures the kept revisions boot, in the order they are pinned
 */
record RevisionHistory(List<RolloutAction> actions, Set<String> closures) {
  RevisionHistory {
    actions = List.copyOf(actions);
    closures = Collections.unmodifiableSet(new LinkedHashSet<>(closures));
  }

  static RevisionHistory of(String template, List<Revision> revisions, String target, VMSpec targetSpec, String current, int limit) {
    List<RolloutAction> actions = new ArrayList<>();
    Set<String> closures = new LinkedHashSet<>();
    if (revisions.stream().noneMatch(r -> r.hash().equals(target))) {
      long next = revisions.stream().mapToLong(Revision::number).max().orElse(0) + 1;
      actions.add(new RolloutAction.CreateRevision(template, target, next, targetSpec));
    }
    List<Revision> others = revisions.stream().filter(r -> !r.hash().equals(target) && !r.hash().equals(current))
        .sorted(Comparator.comparingLong(Revision::number).reversed()).toList();
    for (int i = 0; i < others.size(); i++) {
      if (i < limit) {
        addClosure(closures, others.get(i).spec());
      } else {
        actions.add(new RolloutAction.DeleteRevision(others.get(i).name()));
      }
    }
    revisions.stream().filter(r -> r.hash().equals(target) || r.hash().equals(current)).forEach(r -> addClosure(closures, r.spec()));
    return new RevisionHistory(actions, closures);
  }

  /** Adds the closure {@code spec} boots, if it boots one. */
  static void addClosure(Set<String> closures, VMSpec spec) {
    if (spec != null && spec.boot() != null && spec.boot().closure() != null) {
      closures.add(spec.boot().closure());
    }
  }
}
