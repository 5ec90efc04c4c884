package dev.procurator.nodeagent.build;

import dev.procurator.api.runtime.Conditions;
import dev.procurator.api.runtime.Decision;
import dev.procurator.api.runtime.EventSpec;
import dev.procurator.api.v1alpha1.Build;
import dev.procurator.api.v1alpha1.BuildAgreements;
import dev.procurator.api.v1alpha1.BuildPhase;
import dev.procurator.api.v1alpha1.BuildStatus;
import java.time.Duration;
import java.time.Instant;

/**
 * What this node's builder does about one Build, from the Build and the attempt running here (if
 * any): the {@link Builder}'s whole decision, as the status to write, the {@link Action} on the
 * local attempt and the Events. No I/O; {@code BuildStepTest} drives it.
 *
 * <ul>
 *   <li>A Build placed here that has no attempt running starts one (also after an agent restart:
 *       the attempt starts over), when a slot is free.
 *   <li>An attempt that runs reports its step; one that ended reports {@code Succeeded}, or fails
 *       the attempt (back to the queue with backoff when retryable and attempts are left).
 *   <li>An attempt whose Build is gone, finished, placed elsewhere or on another attempt is
 *       stopped: it pushes nothing more.
 * </ul>
 */
public final class BuildStep {
  private BuildStep() {}

  /** What to do with the local attempt. */
  public sealed interface Action {
    /**
     * Start an attempt. Its {@code Evaluating} status is written by the start, with the flake its
     * source resolves to (which takes a read of the GitRepository), before nix runs: a conflict there
     * starts nothing.
     */
    record Start(BuildStatus evaluating) implements Action {}

    /** Stop the attempt: it pushes nothing more. */
    record Stop() implements Action {}

    /** The attempt ended and its outcome is written: drop it. */
    record Forget() implements Action {}
  }

  /** How long a Build placed here waits for a free slot before it looks again. */
  static final Duration SLOT_WAIT = Duration.ofSeconds(2);

  /**
   * @param run the attempt of this Build running here: its number and progress, or null
   * @param freeSlot whether this node may start one more attempt
   */
  public static Decision<BuildStatus, Action> decide(Build build, String node, Integer runAttempt, BuildRun.Progress run, boolean freeSlot,
      Instant now) {
    if (build == null || build.getMetadata().getDeletionTimestamp() != null) {
      return run == null ? Decision.none() : Decision.<BuildStatus, Action>none().act(new Action.Stop());
    }
    BuildStatus s = build.getStatus();
    boolean mine = s != null && s.phase() != null && s.phase().onBuilder() && node.equals(s.nodeName());
    if (!mine || runAttempt != null && runAttempt != s.attemptNumber()) {
      if (run == null) {
        return Decision.none();
      }
      return Decision.<BuildStatus, Action>none().act(run.done() ? new Action.Forget() : new Action.Stop());
    }
    if (run == null) {
      if (!freeSlot) {
        return Decision.<BuildStatus, Action>none().requeueAfter(SLOT_WAIT);
      }
      String msg = "evaluating on " + node + " (attempt " + s.attemptNumber() + ")";
      BuildStatus started = s.withPhase(BuildPhase.EVALUATING, msg).withTimes(Conditions.timestamp(now), null)
          .withConditions(Conditions.set(s.conditions(), Conditions.of(BuildAgreements.READY, Conditions.FALSE, "Evaluating", msg, now)))
          .withFailure(null, null);
      return Decision.<BuildStatus, Action>none().act(new Action.Start(started));
    }
    if (!run.done()) {
      BuildStatus next = s.withPhase(run.phase(), run.message()).withResults(nullIfEmpty(run.outputs()), nullIfEmpty(run.cached()), s.flake());
      if (s.phase() != run.phase()) {
        next = next.withConditions(Conditions.set(s.conditions(),
            Conditions.of(BuildAgreements.READY, Conditions.FALSE, run.phase().wire(), run.message(), now)));
      }
      return Decision.status(next);
    }
    if (run.failure() == null) {
      BuildStatus ok = s.withPhase(BuildPhase.SUCCEEDED, run.message()).withResults(run.outputs(), nullIfEmpty(run.cached()), s.flake())
          .withTimes(s.startTime(), Conditions.timestamp(now))
          .withConditions(Conditions.set(s.conditions(), Conditions.of(BuildAgreements.READY, Conditions.TRUE, "Succeeded", run.message(), now)));
      return ended(ok);
    }
    BuildRun.Failure f = run.failure();
    BuildStatus failed = BuildAgreements.failed(build.getSpec(), s.withFailure(f.attribute(), f.logTail()), f.retryable(), f.reason(),
        f.message(), now);
    return ended(failed);
  }

  /** The attempt's outcome written and told, then the attempt dropped (a conflict keeps it until its outcome is written). */
  private static Decision<BuildStatus, Action> ended(BuildStatus outcome) {
    EventSpec told = switch (outcome.phase()) {
      case SUCCEEDED -> EventSpec.normal("Succeeded", outcome.message());
      case FAILED -> EventSpec.warning("Failed", outcome.message());
      default -> EventSpec.warning("Retrying", outcome.message());
    };
    return Decision.<BuildStatus, Action>status(outcome).act(new Action.Forget()).event(told);
  }

  private static <T extends java.util.Collection<?>> T nullIfEmpty(T c) {
    return c == null || c.isEmpty() ? null : c;
  }

  private static <K, V> java.util.Map<K, V> nullIfEmpty(java.util.Map<K, V> m) {
    return m == null || m.isEmpty() ? null : m;
  }
}
