package dev.procurator.api.v1alpha1;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import io.fabric8.kubernetes.api.model.Condition;
import java.util.List;

/**
 * Rollout progress of a Cluster: totals over its templates, each template's own progress, and
 * conditions {@code Available} and {@code Progressing}.
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record ClusterStatus(
    Long observedGeneration,
    @JsonPropertyDescription("The revision that last was fully available (for several templates: template=hash, comma-separated).")
        String currentRevision,
    @JsonPropertyDescription("The revision being rolled out.") String updateRevision,
    Integer replicas,
    Integer readyReplicas,
    Integer updatedReplicas,
    Integer availableReplicas,
    List<TemplateStatus> templates,
    List<Condition> conditions,
    @JsonPropertyDescription("Closures this Cluster has pinned in the binary cache.") List<String> pinnedClosures) {

  /** One template's rollout, as the controller last left it; enough to go on after a restart. */
  @JsonInclude(JsonInclude.Include.NON_NULL)
  public record TemplateStatus(
      String name,
      Integer replicas,
      Integer readyReplicas,
      Integer updatedReplicas,
      Integer availableReplicas,
      @JsonPropertyDescription("Hash of the template revision that last was fully available.") String currentRevision,
      @JsonPropertyDescription("Hash of the template revision being rolled out.") String updateRevision,
      @JsonPropertyDescription("A revision that failed; it is not tried again until the spec changes.") String failedRevision,
      @JsonPropertyDescription("The Cluster generation in which failedRevision failed.") Long failedGeneration,
      String failureMessage,
      @JsonPropertyDescription("When the rollout last made progress (RFC 3339), for the progress deadline.") String lastProgressTime,
      @JsonPropertyDescription("Canary: the step under way (0-based); the number of steps once all are done.") Integer currentStep,
      @JsonPropertyDescription("When the current canary step, or the blue-green wait for promotion, began.") String stepStartTime,
      @JsonPropertyDescription("BlueGreen: when the new revision was promoted.") String promotedTime) {}
}
