package dev.procurator.api.v1alpha1;

import io.fabric8.crd.generator.annotation.AdditionalPrinterColumn;
import io.fabric8.crd.generator.annotation.AdditionalSelectableField;
import io.fabric8.kubernetes.api.model.Namespaced;
import io.fabric8.kubernetes.client.CustomResource;
import io.fabric8.kubernetes.model.annotation.Group;
import io.fabric8.kubernetes.model.annotation.Kind;
import io.fabric8.kubernetes.model.annotation.Plural;
import io.fabric8.kubernetes.model.annotation.ShortNames;
import io.fabric8.kubernetes.model.annotation.Singular;
import io.fabric8.kubernetes.model.annotation.Version;

/** One microVM: what it boots, how big it is, how it is reached and checked. */
@Group(Groups.PROCURATOR)
@Version(Groups.V1ALPHA1)
@Kind("VM")
@Plural("vms")
@Singular("vm")
@ShortNames("vm")
@AdditionalPrinterColumn(name = "Phase", jsonPath = ".status.phase", type = AdditionalPrinterColumn.Type.STRING)
@AdditionalPrinterColumn(name = "Node", jsonPath = ".spec.nodeName", type = AdditionalPrinterColumn.Type.STRING)
@AdditionalPrinterColumn(name = "CPU", jsonPath = ".spec.cpu", type = AdditionalPrinterColumn.Type.INTEGER)
@AdditionalPrinterColumn(name = "Memory", jsonPath = ".spec.memory", type = AdditionalPrinterColumn.Type.STRING)
@AdditionalPrinterColumn(name = "Age", jsonPath = ".metadata.creationTimestamp", type = AdditionalPrinterColumn.Type.DATE)
@AdditionalPrinterColumn(name = "Hypervisor", jsonPath = ".spec.hypervisor", type = AdditionalPrinterColumn.Type.STRING, priority = 1)
@AdditionalPrinterColumn(name = "Closure", jsonPath = ".status.closure", type = AdditionalPrinterColumn.Type.STRING, priority = 1)
@AdditionalPrinterColumn(name = "Message", jsonPath = ".status.message", type = AdditionalPrinterColumn.Type.STRING, priority = 1)
@AdditionalSelectableField(jsonPath = ".spec.nodeName")
@AdditionalSelectableField(jsonPath = ".status.phase")
public class VM extends CustomResource<VMSpec, VMStatus> implements Namespaced {
  /**
   * The nodes that could not boot this VM's boot source (the scheduler moved it away from each),
   * after a hash of the spec they tried: {@code 3f9a0c1d2e4b:host-b,host-c}. The scheduler places
   * it elsewhere while the spec is the same; a changed spec, or removing the annotation, lets them
   * try again.
   */
  public static final String UNBOOTABLE_ON = "procurator.dev/unbootable-on";

  /** A VM without a spec says nothing to run: the schema requires it. */
  @Override
  @io.fabric8.generator.annotation.Required
  public VMSpec getSpec() {
    return super.getSpec();
  }
}
