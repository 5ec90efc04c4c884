package dev.procurator.api.v1alpha1;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;

/** What an operator wants of a node. */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record NodeSpec(
    @JsonPropertyDescription("When true, the scheduler binds no new VMs here.") Boolean unschedulable,
    @JsonPropertyDescription("URL at which the node agent serves logs and metrics.") String agentEndpoint) {}
