package dev.procurator.api.v1alpha1;

import com.fasterxml.jackson.annotation.JsonInclude;
import io.fabric8.kubernetes.api.model.Condition;
import java.util.List;
import java.util.Map;

/** Progress and results of a Build. */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record BuildStatus(
    BuildPhase phase,
    Long observedGeneration,
    String nodeName,
    Map<String, String> outputs,
    List<Condition> conditions,
    String startTime,
    String completionTime,
    String message) {}
