package dev.procurator.api.v1alpha1;

import com.fasterxml.jackson.annotation.JsonInclude;
import io.fabric8.kubernetes.api.model.Condition;
import java.util.List;

/** What a VM is, as last observed by the scheduler and its node agent. */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record VMStatus(
    VMPhase phase,
    String nodeName,
    Long observedGeneration,
    List<Condition> conditions,
    String message,
    Integer restartCount,
    List<VMSpec.PortForward> ports) {}
