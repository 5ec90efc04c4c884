package dev.procurator.controllers.clusters;

import dev.procurator.api.v1alpha1.ClusterSpec;
import dev.procurator.api.v1alpha1.RolloutStrategyType;
import java.util.Optional;

/**
 * How one template's VMs move from their old revisions to the target, one pass at a time: a pure
 * function of a {@link Situation}. What every strategy shares (which revision is the target,
 * when a revision fails, the revision history, the status) is {@link TemplateRollout}'s; a
 * strategy only says which VMs to create and delete, and when the target may become current.
 */
sealed interface RolloutStrategy permits RollingUpdate, BlueGreen, Canary {
  /** The strategy {@code spec} names; RollingUpdate when it names none, and for a canary without steps. */
  static RolloutStrategy of(ClusterSpec.Strategy spec) {
    RollingUpdate rolling = new RollingUpdate(spec);
    RolloutStrategyType type = spec == null || spec.type() == null ? RolloutStrategyType.ROLLING_UPDATE : spec.type();
    return switch (type) {
      case ROLLING_UPDATE -> rolling;
      case BLUE_GREEN -> new BlueGreen(spec, rolling);
      case CANARY -> spec.steps() == null ? rolling : new Canary(spec.steps(), rolling);
    };
  }

  /** The VMs to create and delete now, and the state to carry on. */
  Move next(Situation s);

  /**
   * Why the rollout waits for {@code pctl rollout promote}, or empty. Waiting for a person is not a
   * lack of progress: the progress deadline does not run meanwhile.
   */
  default Optional<String> awaitingPromote(Situation s) {
    return Optional.empty();
  }

  /** Whether the strategy's own steps are done, so that the rollout can be complete. */
  default boolean stepsDone(Situation s) {
    return true;
  }

  /** Whether a complete rollout makes the target current without a promotion of the strategy's own. */
  default boolean promotesWhenComplete(Situation s) {
    return true;
  }
}
