package dev.procurator.api.v1alpha1;

import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.annotation.JsonValue;

/** How a health check probes the guest. */
public enum HealthCheckType {
  @JsonProperty("http")
  HTTP("http"),
  @JsonProperty("tcp")
  TCP("tcp"),
  @JsonProperty("exec")
  EXEC("exec");

  private final String wire;

  HealthCheckType(String wire) {
    this.wire = wire;
  }

  /** The name as it appears in manifests. */
  @JsonValue
  public String wire() {
    return wire;
  }
}
