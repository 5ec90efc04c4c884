package dev.procurator.controllers.clusters;

import dev.procurator.api.v1alpha1.ClusterStatus;
import java.time.Instant;

/**
 * Where one template's rollout toward its target stands between passes, as its status carries it.
 * A new target starts afresh.
 *
 * @param step the canary step under way, or null
 * @param stepStart when that step began; for blue-green, when every new VM was first available
 * @param promoted when a blue-green target became current, or null
 * @param lastProgress when the rollout last moved, for {@code progressDeadlineSeconds}
 */
record TemplateState(Integer step, Instant stepStart, Instant promoted, Instant lastProgress) {
  /** The state {@code was} recorded when its target is {@code target}; a fresh start otherwise. */
  static TemplateState from(ClusterStatus.TemplateStatus was, String target, Instant now) {
    if (was == null || !target.equals(was.updateRevision())) {
      return new TemplateState(null, null, null, now);
    }
    return new TemplateState(was.currentStep(), time(was.stepStartTime(), now), time(was.promotedTime(), now),
        was.lastProgressTime() == null ? now : ClusterRollout.time(was.lastProgressTime(), now));
  }

  private static Instant time(String t, Instant unreadable) {
    return t == null ? null : ClusterRollout.time(t, unreadable);
  }

  TemplateState atStep(int step, Instant start) {
    return new TemplateState(step, start, promoted, lastProgress);
  }

  TemplateState withStepStart(Instant start) {
    return new TemplateState(step, start, promoted, lastProgress);
  }

  TemplateState withPromoted(Instant at) {
    return new TemplateState(step, stepStart, at, lastProgress);
  }

  TemplateState withLastProgress(Instant at) {
    return new TemplateState(step, stepStart, promoted, at);
  }
}
