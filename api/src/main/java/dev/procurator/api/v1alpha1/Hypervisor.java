package dev.procurator.api.v1alpha1;

import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.annotation.JsonValue;

/** Hypervisor that runs a VM. */
public enum Hypervisor {
  @JsonProperty("qemu")
  QEMU("qemu"),
  @JsonProperty("cloud-hypervisor")
  CLOUD_HYPERVISOR("cloud-hypervisor"),
  @JsonProperty("firecracker")
  FIRECRACKER("firecracker");

  private final String wire;

  Hypervisor(String wire) {
    this.wire = wire;
  }

  /** The name as it appears in manifests. */
  @JsonValue
  public String wire() {
    return wire;
  }
}
