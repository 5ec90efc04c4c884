package dev.procurator.api.v1alpha1;

import com.fasterxml.jackson.annotation.JsonInclude;
import io.fabric8.kubernetes.api.model.Condition;
import java.util.List;

/** What the sync last did. */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record GitRepositoryStatus(
    Long observedGeneration, String lastAppliedCommit, List<String> inventory, List<Condition> conditions) {}
