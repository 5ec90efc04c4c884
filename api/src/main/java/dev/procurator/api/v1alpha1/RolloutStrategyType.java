package dev.procurator.api.v1alpha1;

import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.annotation.JsonValue;

/** How a Cluster replaces its VMs. */
public enum RolloutStrategyType {
  @JsonProperty("RollingUpdate")
  ROLLING_UPDATE("RollingUpdate"),
  @JsonProperty("BlueGreen")
  BLUE_GREEN("BlueGreen"),
  @JsonProperty("Canary")
  CANARY("Canary");

  private final String wire;

  RolloutStrategyType(String wire) {
    this.wire = wire;
  }

  /** The name as it appears in manifests. */
  @JsonValue
  public String wire() {
    return wire;
  }
}
