package dev.procurator.api.v1alpha1;

import com.fasterxml.jackson.annotation.JsonInclude;
import io.fabric8.kubernetes.api.model.Condition;
import java.util.List;
import java.util.Map;

/**
 * Progress and results of a Build.
 *
 * @param nodeName the builder it is placed on (empty while queued)
 * @param attempt which try this is, from 1
 * @param notBefore a retry waits until then (exponential backoff), kept here so a restart keeps it
 * @param outputs attribute to store path, for every attribute (built or cached)
 * @param cached the attributes whose outputs the cache had already: nothing was built for them
 * @param failedAttribute the attribute whose evaluation or build failed
 * @param logTail the last lines of the failing step's log
 * @param flake the locked flake reference that was built
 * @param deployedTo {@code CLUSTER/TEMPLATE} once the output was set there
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record BuildStatus(
    BuildPhase phase,
    Long observedGeneration,
    String nodeName,
    Integer attempt,
    String notBefore,
    Map<String, String> outputs,
    List<String> cached,
    List<Condition> conditions,
    String startTime,
    String completionTime,
    String message,
    String failedAttribute,
    String logTail,
    String flake,
    String deployedTo) {

  /** A Build nobody has looked at yet. */
  public static BuildStatus pending() {
    return new BuildStatus(BuildPhase.PENDING, null, null, 1, null, null, null, null, null, null, null, null, null, null, null);
  }

  public int attemptNumber() {
    return attempt == null ? 1 : attempt;
  }

  public BuildStatus withPhase(BuildPhase p, String msg) {
    return new BuildStatus(p, observedGeneration, nodeName, attempt, notBefore, outputs, cached, conditions, startTime, completionTime, msg,
        failedAttribute, logTail, flake, deployedTo);
  }

  public BuildStatus withNode(String node) {
    return new BuildStatus(phase, observedGeneration, node, attempt, notBefore, outputs, cached, conditions, startTime, completionTime, message,
        failedAttribute, logTail, flake, deployedTo);
  }

  public BuildStatus withConditions(List<Condition> c) {
    return new BuildStatus(phase, observedGeneration, nodeName, attempt, notBefore, outputs, cached, c, startTime, completionTime, message,
        failedAttribute, logTail, flake, deployedTo);
  }

  public BuildStatus withRetry(int nextAttempt, String until) {
    return new BuildStatus(phase, observedGeneration, null, nextAttempt, until, null, null, conditions, null, null, message, failedAttribute,
        logTail, null, deployedTo);
  }

  public BuildStatus withTimes(String start, String completion) {
    return new BuildStatus(phase, observedGeneration, nodeName, attempt, notBefore, outputs, cached, conditions, start, completion, message,
        failedAttribute, logTail, flake, deployedTo);
  }

  public BuildStatus withResults(Map<String, String> out, List<String> cachedAttrs, String lockedFlake) {
    return new BuildStatus(phase, observedGeneration, nodeName, attempt, notBefore, out, cachedAttrs, conditions, startTime, completionTime,
        message, failedAttribute, logTail, lockedFlake, deployedTo);
  }

  public BuildStatus withFailure(String attribute, String tail) {
    return new BuildStatus(phase, observedGeneration, nodeName, attempt, notBefore, outputs, cached, conditions, startTime, completionTime,
        message, attribute, tail, flake, deployedTo);
  }

  public BuildStatus withDeployedTo(String target) {
    return new BuildStatus(phase, observedGeneration, nodeName, attempt, notBefore, outputs, cached, conditions, startTime, completionTime,
        message, failedAttribute, logTail, flake, target);
  }

  public BuildStatus withObservedGeneration(Long g) {
    return new BuildStatus(phase, g, nodeName, attempt, notBefore, outputs, cached, conditions, startTime, completionTime, message,
        failedAttribute, logTail, flake, deployedTo);
  }
}
