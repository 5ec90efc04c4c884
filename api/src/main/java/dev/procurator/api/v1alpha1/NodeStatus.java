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
    Integer runningVMs) {

  /** {@code status}, or an empty status when there is none yet. */
  public static NodeStatus orEmpty(NodeStatus status) {
    return status != null ? status : new NodeStatus(null, null, null, null, null, null, null);
  }

  public NodeStatus withConditions(List<Condition> c) {
    return new NodeStatus(capacity, allocatable, allocated, hypervisors, c, kvm, runningVMs);
  }
}
