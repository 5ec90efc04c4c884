package dev.procurator.api.v1alpha1;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;
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
    List<VMSpec.PortForward> ports,
    @JsonPropertyDescription("Restart backoff after failures in a row; absent once the VM has run well for a while.")
        RestartBackoff backoff) {

  /** A status without restart backoff. */
  public VMStatus(VMPhase phase, String nodeName, Long observedGeneration, List<Condition> conditions, String message,
      Integer restartCount, List<VMSpec.PortForward> ports) {
    this(phase, nodeName, observedGeneration, conditions, message, restartCount, ports, null);
  }

  /**
   * Where a VM that keeps failing is in its crash loop: kept in status so that an agent that
   * restarts keeps to the same backoff rather than booting the VM again at once.
   */
  @JsonInclude(JsonInclude.Include.NON_NULL)
  public record RestartBackoff(
      @JsonPropertyDescription("Failures in a row, each doubling the wait before the next start.") Integer failures,
      @JsonPropertyDescription("The VM is not started again before this time (RFC 3339).") String restartAt) {}
}
