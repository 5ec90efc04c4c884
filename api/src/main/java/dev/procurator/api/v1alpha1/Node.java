package dev.procurator.api.v1alpha1;

import io.fabric8.crd.generator.annotation.AdditionalPrinterColumn;
import io.fabric8.kubernetes.client.CustomResource;
import io.fabric8.kubernetes.model.annotation.Group;
import io.fabric8.kubernetes.model.annotation.Kind;
import io.fabric8.kubernetes.model.annotation.Plural;
import io.fabric8.kubernetes.model.annotation.Singular;
import io.fabric8.kubernetes.model.annotation.Version;

/** A host that runs VMs. Cluster-scoped; registered and kept alive by its node agent. */
@Group(Groups.PROCURATOR)
@Version(Groups.V1ALPHA1)
@Kind("Node")
@Plural("nodes")
@Singular("node")
@AdditionalPrinterColumn(name = "Ready", jsonPath = ".status.conditions[?(@.type==\"Ready\")].status", type = AdditionalPrinterColumn.Type.STRING)
@AdditionalPrinterColumn(name = "CPU", jsonPath = ".status.capacity.cpu", type = AdditionalPrinterColumn.Type.STRING)
@AdditionalPrinterColumn(name = "Memory", jsonPath = ".status.capacity.memory", type = AdditionalPrinterColumn.Type.STRING)
@AdditionalPrinterColumn(name = "CPU Used", jsonPath = ".status.allocated.cpu", type = AdditionalPrinterColumn.Type.STRING)
@AdditionalPrinterColumn(name = "Memory Used", jsonPath = ".status.allocated.memory", type = AdditionalPrinterColumn.Type.STRING)
@AdditionalPrinterColumn(name = "VMs", jsonPath = ".status.runningVMs", type = AdditionalPrinterColumn.Type.INTEGER)
@AdditionalPrinterColumn(name = "Hypervisors", jsonPath = ".status.hypervisors", type = AdditionalPrinterColumn.Type.STRING)
@AdditionalPrinterColumn(name = "Age", jsonPath = ".metadata.creationTimestamp", type = AdditionalPrinterColumn.Type.DATE)
public class Node extends CustomResource<NodeSpec, NodeStatus> {
}
