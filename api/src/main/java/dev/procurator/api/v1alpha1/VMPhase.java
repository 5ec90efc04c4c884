package dev.procurator.api.v1alpha1;

import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.annotation.JsonValue;

/** Where a VM is in its life. */
public enum VMPhase {
  @JsonProperty("Pending")
  PENDING("Pending"),
  @JsonProperty("Scheduled")
  SCHEDULED("Scheduled"),
  @JsonProperty("Starting")
  STARTING("Starting"),
  @JsonProperty("Running")
  RUNNING("Running"),
  @JsonProperty("Stopping")
  STOPPING("Stopping"),
  @JsonProperty("Stopped")
  STOPPED("Stopped"),
  @JsonProperty("Failed")
  FAILED("Failed");

  private final String wire;

  VMPhase(String wire) {
    this.wire = wire;
  }

  /** The name as it appears in manifests. */
  @JsonValue
  public String wire() {
    return wire;
  }
}
