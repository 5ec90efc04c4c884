package dev.procurator.api.v1alpha1;

import com.fasterxml.jackson.annotation.JsonInclude;
import io.fabric8.kubernetes.api.model.Condition;
import java.util.List;
import java.util.Map;

/** What a node reports about itself. */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record NodeStatus(
    Map<String, String> capacity,
    Map<String, String> allocatable,
    Map<String, String> allocated,
    List<Hypervisor> hypervisors,
    List<Condition> conditions,
    Boolean kvm,
    Integer runningVMs) {}
