package dev.procurator.controllers.clusters;

import dev.procurator.api.v1alpha1.ClusterSpec;
import dev.procurator.api.v1alpha1.VM;
import io.fabric8.kubernetes.api.model.IntOrString;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/**
 * New VMs up to {@code maxSurge} above replicas; old ones deleted while at least replicas −
 * {@code maxUnavailable} stay available. The other strategies finish with it.
 *
 * @param spec the Cluster's strategy, or null for the defaults (25 % each)
 */
record RollingUpdate(ClusterSpec.Strategy spec) implements RolloutStrategy {
  /** {@code maxSurge} and {@code maxUnavailable} as counts for a number of replicas. */
  record Limits(int maxSurge, int maxUnavailable) {
    /** Percentages round surge up and unavailability down; both 0 would stall, so unavailability is then 1. */
    static Limits of(ClusterSpec.Strategy spec, int replicas) {
      int surge = Math.max(0, resolve(spec == null ? null : spec.maxSurge(), replicas, true));
      int unavailable = Math.max(0, resolve(spec == null ? null : spec.maxUnavailable(), replicas, false));
      return new Limits(surge, unavailable == 0 && surge == 0 ? 1 : unavailable);
    }

    /** How many VMs must stay available. */
    int minAvailable(int replicas) {
      return Math.max(0, replicas - maxUnavailable);
    }

    /** A count, or a percentage of {@code of} rounded up or down; 25 % when unset. */
    static int resolve(IntOrString v, int of, boolean roundUp) {
      IntOrString value = v == null ? new IntOrString("25%") : v;
      if (value.getIntVal() != null) {
        return value.getIntVal();
      }
      String s = value.getStrVal();
      if (s != null && s.endsWith("%")) {
        double pct = Integer.parseInt(s.substring(0, s.length() - 1)) / 100.0 * of;
        return (int) (roundUp ? Math.ceil(pct) : Math.floor(pct));
      }
      return Integer.parseInt(s);
    }
  }

  @Override
  public Move next(Situation s) {
    return next(s, s.state());
  }

  /** Toward {@code replicas} VMs of the target and none of the others, carrying {@code state} on. */
  Move next(Situation s, TemplateState state) {
    Health h = s.health();
    List<VM> fresh = s.fresh();
    List<VM> stale = s.stale();
    int want = s.replicas();
    // too many new ones (replicas went down): remove the unavailable first, then the youngest
    if (fresh.size() > want) {
      List<VM> excess = fresh.stream().sorted(Comparator.comparing((VM v) -> h.available(v))
          .thenComparing(v -> v.getMetadata().getCreationTimestamp(), Comparator.reverseOrder())).limit(fresh.size() - want).toList();
      return Move.of(0, excess, state);
    }
    Limits limits = Limits.of(spec, s.replicas());
    int room = s.replicas() + limits.maxSurge() - fresh.size() - stale.size();
    // old VMs that are not available cost nothing to remove
    List<VM> delete = new ArrayList<>(stale.stream().filter(v -> !h.available(v)).toList());
    long canLose = h.available(fresh) + h.available(stale) - limits.minAvailable(s.replicas());
    // with too little room to add (maxSurge 0), an old VM makes way even if that dips to the minimum
    for (VM v : stale.stream().filter(h::available).sorted(Comparator.comparing(v -> v.getMetadata().getCreationTimestamp())).toList()) {
      if (canLose <= 0) {
        break;
      }
      delete.add(v);
      canLose--;
    }
    // a VM being deleted no longer counts (the next pass would not count it): its replacement
    // is created in this pass rather than after the delete comes back as an event
    int create = Math.max(0, Math.min(want - fresh.size(), room + delete.size()));
    Move move = Move.of(create, delete, state);
    if (create == 0 && fresh.size() < want && delete.isEmpty() && room <= 0 && !stale.isEmpty()) {
      // every old VM is needed for availability and there is no room: nothing can move; the
      // minimum of one unavailable VM (set when both limits are 0) prevents this
      return move.wakingAt(s.now().plusSeconds(5));
    }
    return move;
  }
}
