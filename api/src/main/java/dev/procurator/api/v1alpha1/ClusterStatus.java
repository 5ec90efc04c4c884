package dev.procurator.api.v1alpha1;

import com.fasterxml.jackson.annotation.JsonInclude;
import io.fabric8.kubernetes.api.model.Condition;
import java.util.List;

/** Rollout progress of a Cluster. */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record ClusterStatus(
    Long observedGeneration,
    Long revision,
    Integer replicas,
    Integer readyReplicas,
    Integer updatedReplicas,
    List<Condition> conditions) {}
