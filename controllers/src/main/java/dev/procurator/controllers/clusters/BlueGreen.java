package dev.procurator.controllers.clusters;

import dev.procurator.api.v1alpha1.ClusterSpec;
import java.time.Instant;
import java.util.List;
import java.util.Optional;

/**
 * Every new VM starts beside the old ones; once all are available (and {@code autoPromotion}, or a
 * promote, says so) the new revision is current, and the old VMs go {@code scaleDownDelaySeconds}
 * later. A first revision, a rollback and a restart roll as a {@link RollingUpdate}.
 */
record BlueGreen(ClusterSpec.Strategy spec, RollingUpdate rolling) implements RolloutStrategy {
  static final int DEFAULT_SCALE_DOWN_DELAY_SECONDS = 30;

  @Override
  public Move next(Situation s) {
    if (s.trial()) {
      return preview(s);
    }
    if (s.state().promoted() != null && !s.restart()) {
      return scaleDown(s, s.state());
    }
    return rolling.next(s);
  }

  /** The new VMs beside the old, then the switch once they are all available. */
  private Move preview(Situation s) {
    if (s.fresh().size() > s.replicas()) {
      return rolling.next(s);
    }
    int create = Math.max(0, s.replicas() - s.fresh().size());
    if (!s.health().allAvailable(s.fresh(), s.replicas())) {
      return Move.of(create, List.of(), s.state().withStepStart(null));
    }
    // stepStart: when the new revision became ready for promotion
    TemplateState state = s.state().stepStart() == null ? s.state().withStepStart(s.now()) : s.state();
    if (autoPromotion() || s.promoteRequested(state.stepStart())) {
      return scaleDown(s, state.withPromoted(s.now()))
          .promoting("promoted: all " + s.replicas() + " VMs of revision " + s.target() + " are available");
    }
    return Move.of(create, List.of(), state);
  }

  /** The old VMs, {@code scaleDownDelaySeconds} after the promotion. */
  private Move scaleDown(Situation s, TemplateState state) {
    int delay = spec.scaleDownDelaySeconds() == null ? DEFAULT_SCALE_DOWN_DELAY_SECONDS : spec.scaleDownDelaySeconds();
    Instant at = state.promoted().plusSeconds(delay);
    int create = Math.max(0, s.replicas() - s.fresh().size());
    if (s.now().isBefore(at)) {
      return Move.waitUntil(create, state, at);
    }
    return Move.of(create, s.stale(), state);
  }

  private boolean autoPromotion() {
    return !Boolean.FALSE.equals(spec.autoPromotion());
  }

  @Override
  public Optional<String> awaitingPromote(Situation s) {
    if (s.trial() && s.health().allAvailable(s.fresh(), s.replicas()) && !autoPromotion() && !s.promoteRequested(s.state().stepStart())) {
      return Optional.of("template " + s.template() + ": the new revision " + s.target() + " is available; pctl rollout promote cluster/"
          + s.cluster() + " switches to it");
    }
    return Optional.empty();
  }

  @Override
  public boolean promotesWhenComplete(Situation s) {
    return s.state().promoted() != null || s.current() == null;
  }
}
