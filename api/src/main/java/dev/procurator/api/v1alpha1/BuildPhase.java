package dev.procurator.api.v1alpha1;

import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.annotation.JsonValue;

/** Where a Build is in its life. */
public enum BuildPhase {
  @JsonProperty("Pending")
  PENDING("Pending"),
  @JsonProperty("Running")
  RUNNING("Running"),
  @JsonProperty("Succeeded")
  SUCCEEDED("Succeeded"),
  @JsonProperty("Failed")
  FAILED("Failed");

  private final String wire;

  BuildPhase(String wire) {
    this.wire = wire;
  }

  /** The name as it appears in manifests. */
  @JsonValue
  public String wire() {
    return wire;
  }
}
