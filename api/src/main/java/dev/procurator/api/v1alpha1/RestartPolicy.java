package dev.procurator.api.v1alpha1;

import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.annotation.JsonValue;

/** When a VM that stopped is started again. */
public enum RestartPolicy {
  @JsonProperty("Always")
  ALWAYS("Always"),
  @JsonProperty("OnFailure")
  ON_FAILURE("OnFailure"),
  @JsonProperty("Never")
  NEVER("Never");

  private final String wire;

  RestartPolicy(String wire) {
    this.wire = wire;
  }

  /** The name as it appears in manifests. */
  @JsonValue
  public String wire() {
    return wire;
  }
}
