package dev.procurator.controllers.clusters;

import static dev.procurator.controllers.clusters.ClusterRolloutTest.H1;
import static dev.procurator.controllers.clusters.ClusterRolloutTest.H2;
import static dev.procurator.controllers.clusters.ClusterRolloutTest.NOW;
import static dev.procurator.controllers.clusters.ClusterRolloutTest.V1;
import static dev.procurator.controllers.clusters.ClusterRolloutTest.V2;

import dev.procurator.api.v1alpha1.VM;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

/**
 * A template's {@link Situation} for a strategy's table tests: revision H1 is current, H2 the
 * target, VMs made by {@link ClusterRolloutTest.World} (healthy for 300 s, or booting).
 */
final class Situations {
  private final ClusterRolloutTest.World world = new ClusterRolloutTest.World(V1, 1, null);
  final List<VM> fresh = new ArrayList<>();
  final List<VM> stale = new ArrayList<>();
  int replicas;
  String current = H1;
  TemplateState state = new TemplateState(null, null, null, NOW);
  Duration minReady = Duration.ZERO;
  Instant promoteAsked;

  Situations(int replicas) {
    this.replicas = replicas;
  }

  /** {@code available} healthy and {@code booting} not yet ready VMs of the target. */
  Situations fresh(int available, int booting) {
    for (int i = 0; i < available; i++) {
      fresh.add(world.healthy(H2, V2));
    }
    for (int i = 0; i < booting; i++) {
      fresh.add(world.booting(H2, V2));
    }
    return this;
  }

  /** {@code available} healthy and {@code unavailable} not ready VMs of the old revision. */
  Situations stale(int available, int unavailable) {
    for (int i = 0; i < available; i++) {
      stale.add(world.healthy(H1, V1));
    }
    for (int i = 0; i < unavailable; i++) {
      stale.add(world.booting(H1, V1));
    }
    return this;
  }

  /** The first revision: there is no current one. */
  Situations first() {
    current = null;
    return this;
  }

  Situations state(Integer step, Instant stepStart, Instant promoted) {
    state = new TemplateState(step, stepStart, promoted, NOW);
    return this;
  }

  Situation at(Instant now) {
    return new Situation("shop", "web", replicas, H2, current, false, fresh, stale, state, new Health(minReady, now), promoteAsked);
  }

  Situation now() {
    return at(NOW);
  }

  /** {@code n} healthy VMs of the target that count as old: created before a restart was asked for. */
  Situations staleOfTarget(int n) {
    for (int i = 0; i < n; i++) {
      stale.add(world.healthy(H2, V2));
    }
    return this;
  }

  /** The target is already the current revision. */
  Situations promoted() {
    current = H2;
    return this;
  }
}
