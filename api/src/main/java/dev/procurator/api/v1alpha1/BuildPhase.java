package dev.procurator.api.v1alpha1;

import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.annotation.JsonValue;

/** Where a Build is in its life: queued, placed on a builder, then evaluating, building and pushing, then done. */
public enum BuildPhase {
  @JsonProperty("Pending")
  PENDING("Pending"),
  @JsonProperty("Scheduled")
  SCHEDULED("Scheduled"),
  @JsonProperty("Evaluating")
  EVALUATING("Evaluating"),
  @JsonProperty("Building")
  BUILDING("Building"),
  @JsonProperty("Pushing")
  PUSHING("Pushing"),
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

  /** Succeeded or Failed: nothing more happens. */
  public boolean finished() {
    return this == SUCCEEDED || this == FAILED;
  }

  /** Placed on a builder and not finished: the builder's to move. */
  public boolean onBuilder() {
    return this == SCHEDULED || this == EVALUATING || this == BUILDING || this == PUSHING;
  }
}
