package dev.procurator.api.v1alpha1;

import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.annotation.JsonValue;

/** How a VM's network is attached: user-mode networking or a tap device on a bridge. */
public enum NetworkMode {
  @JsonProperty("user")
  USER("user"),
  @JsonProperty("tap")
  TAP("tap");

  private final String wire;

  NetworkMode(String wire) {
    this.wire = wire;
  }

  /** The name as it appears in manifests. */
  @JsonValue
  public String wire() {
    return wire;
  }
}
