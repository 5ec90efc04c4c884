package dev.procurator.api.v1alpha1;

import dev.procurator.api.runtime.Conditions;
import java.time.Duration;
import java.time.Instant;

/**
 * What the build controller and the builders on the nodes agree on: the label that makes a node a
 * builder, the capacity it publishes, the condition types, and how a failed attempt goes back to
 * the queue.
 */
public final class BuildAgreements {
  private BuildAgreements() {}

  /** A node with this label set to {@code true} runs Builds. */
  public static final String BUILDER_LABEL = "procurator.dev/builder";
  /** The Node's {@code status.allocatable} key: how many Builds it runs at once. */
  public static final String BUILDS_RESOURCE = "builds";
  /** A Build created for a commit of a GitRepository carries its name here. */
  public static final String GIT_REPOSITORY_LABEL = "procurator.dev/gitrepository";

  /** True once placed on a builder; False with reason {@code Queued} while waiting for one. */
  public static final String SCHEDULED = "Scheduled";
  /** True when every output is in the cache; False with the step or the failure as reason. */
  public static final String READY = "Ready";
  /** True once the output was set on {@code spec.deploy}'s Cluster template. */
  public static final String DEPLOYED = "Deployed";

  /** The first retry waits this long, each next one twice as long, up to {@link #MAX_RETRY_DELAY}. */
  public static final Duration FIRST_RETRY_DELAY = Duration.ofSeconds(5);
  public static final Duration MAX_RETRY_DELAY = Duration.ofMinutes(10);

  /** How long attempt {@code attempt} waits before the next one starts. */
  public static Duration retryDelay(int attempt) {
    long shift = Math.min(Math.max(attempt - 1, 0), 20);
    Duration d = FIRST_RETRY_DELAY.multipliedBy(1L << shift);
    return d.compareTo(MAX_RETRY_DELAY) > 0 ? MAX_RETRY_DELAY : d;
  }

  /**
   * The status after attempt {@code status.attempt} failed with {@code reason}: back in the queue
   * for the next attempt after its backoff, when {@code retryable} and attempts are left; otherwise
   * {@code Failed} for good.
   */
  public static BuildStatus failed(BuildSpec spec, BuildStatus status, boolean retryable, String reason, String message, Instant now) {
    int attempt = status.attemptNumber();
    if (retryable && attempt <= spec.retries()) {
      Duration wait = retryDelay(attempt);
      String msg = "attempt " + attempt + " failed (" + message + "); attempt " + (attempt + 1) + " of " + (spec.retries() + 1)
          + " in " + wait.toSeconds() + " s";
      return status.withPhase(BuildPhase.PENDING, msg)
          .withConditions(Conditions.setAll(status.conditions(),
              Conditions.of(SCHEDULED, Conditions.FALSE, "Retrying", msg, now),
              Conditions.of(READY, Conditions.FALSE, reason, message, now)))
          .withRetry(attempt + 1, Conditions.timestamp(now.plus(wait)));
    }
    String msg = retryable ? message + " (no retries left after " + attempt + " attempts)" : message;
    return status.withPhase(BuildPhase.FAILED, msg)
        .withConditions(Conditions.set(status.conditions(), Conditions.of(READY, Conditions.FALSE, reason, msg, now)))
        .withTimes(status.startTime(), Conditions.timestamp(now));
  }
}
