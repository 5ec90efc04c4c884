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
        RestartBackoff backoff,
    @JsonPropertyDescription("Store path of the closure the VM boots: spec.boot.closure, or what spec.boot.closureName was resolved to"
        + " when this generation started.")
        String closure) {

  /** A status without restart backoff. */
  public VMStatus(VMPhase phase, String nodeName, Long observedGeneration, List<Condition> conditions, String message,
      Integer restartCount, List<VMSpec.PortForward> ports) {
    this(phase, nodeName, observedGeneration, conditions, message, restartCount, ports, null, null);
  }

  /** A status that names no closure. */
  public VMStatus(VMPhase phase, String nodeName, Long observedGeneration, List<Condition> conditions, String message,
      Integer restartCount, List<VMSpec.PortForward> ports, RestartBackoff backoff) {
    this(phase, nodeName, observedGeneration, conditions, message, restartCount, ports, backoff, null);
  }

  /** {@code status}, or an empty status when there is none yet. */
  public static VMStatus orEmpty(VMStatus status) {
    return status != null ? status : new VMStatus(null, null, null, null, null, null, null, null, null);
  }

  public VMStatus withPhase(VMPhase p, String msg) {
    return new VMStatus(p, nodeName, observedGeneration, conditions, msg, restartCount, ports, backoff, closure);
  }

  public VMStatus withNodeName(String node) {
    return new VMStatus(phase, node, observedGeneration, conditions, message, restartCount, ports, backoff, closure);
  }

  public VMStatus withObservedGeneration(Long g) {
    return new VMStatus(phase, nodeName, g, conditions, message, restartCount, ports, backoff, closure);
  }

  public VMStatus withConditions(List<Condition> c) {
    return new VMStatus(phase, nodeName, observedGeneration, c, message, restartCount, ports, backoff, closure);
  }

  public VMStatus withRestarts(Integer count, RestartBackoff b) {
    return new VMStatus(phase, nodeName, observedGeneration, conditions, message, count, ports, b, closure);
  }

  public VMStatus withPorts(List<VMSpec.PortForward> p) {
    return new VMStatus(phase, nodeName, observedGeneration, conditions, message, restartCount, p, backoff, closure);
  }

  public VMStatus withRestartCount(Integer count) {
    return new VMStatus(phase, nodeName, observedGeneration, conditions, message, count, ports, backoff, closure);
  }

  public VMStatus withClosure(String c) {
    return new VMStatus(phase, nodeName, observedGeneration, conditions, message, restartCount, ports, backoff, c);
  }

  public VMStatus withBackoff(RestartBackoff b) {
    return new VMStatus(phase, nodeName, observedGeneration, conditions, message, restartCount, ports, b, closure);
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
