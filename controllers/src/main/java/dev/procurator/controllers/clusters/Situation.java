package dev.procurator.controllers.clusters;

import dev.procurator.api.v1alpha1.Revisions;
import dev.procurator.api.v1alpha1.VM;
import java.time.Instant;
import java.util.List;
import java.util.Map;

/**
 * One template's rollout at one moment, as a {@link RolloutStrategy} sees it.
 *
 * @param cluster the Cluster's name
 * @param target the revision to roll to: the template's own, or the current one when rolling back
 * @param current the revision last fully available, or null before the first one was
 * @param rollBack whether the template's own revision failed and the target is the current one
 * @param fresh the live VMs of the target (created since the last restart was asked for)
 * @param stale the other live VMs of the template
 * @param promoteAsked when someone last asked to promote ({@code pctl rollout promote}), or null
 */
record Situation(String cluster, String template, int replicas, String target, String current, boolean rollBack, List<VM> fresh,
    List<VM> stale, TemplateState state, Health health, Instant promoteAsked) {
  Situation {
    fresh = List.copyOf(fresh);
    stale = List.copyOf(stale);
  }

  Instant now() {
    return health.now();
  }

  /** Whether the target still has to prove itself: it is not the current revision. */
  boolean underTrial() {
    return !rollBack && !target.equals(current);
  }

  /** Under trial with a good revision to protect; the first revision skips canary steps and blue-green previews. */
  boolean trial() {
    return underTrial() && current != null;
  }

  /** Whether the only old VMs are of the target itself: a restart, not a new revision. */
  boolean restart() {
    return target.equals(current) && !stale.isEmpty() && stale.stream().allMatch(v -> target.equals(label(v, Revisions.REVISION_LABEL)));
  }

  /** Whether someone asked to promote since {@code since} (a second of clock skew allowed). */
  boolean promoteRequested(Instant since) {
    return promoteAsked != null && since != null && !promoteAsked.isBefore(since.minusSeconds(1));
  }

  /** Exactly {@code replicas} VMs of the target, all available, and no others. */
  boolean allFreshAvailableAlone() {
    return stale.isEmpty() && health.allAvailable(fresh, replicas);
  }

  Situation with(TemplateState state, String current) {
    return new Situation(cluster, template, replicas, target, current, rollBack, fresh, stale, state, health, promoteAsked);
  }

  static String label(VM vm, String key) {
    Map<String, String> l = vm.getMetadata().getLabels();
    return l == null ? null : l.get(key);
  }
}
