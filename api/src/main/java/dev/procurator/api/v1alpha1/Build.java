package dev.procurator.api.v1alpha1;

import io.fabric8.crd.generator.annotation.AdditionalPrinterColumn;
import io.fabric8.crd.generator.annotation.AdditionalSelectableField;
import io.fabric8.kubernetes.api.model.Namespaced;
import io.fabric8.kubernetes.client.CustomResource;
import io.fabric8.kubernetes.model.annotation.Group;
import io.fabric8.kubernetes.model.annotation.Kind;
import io.fabric8.kubernetes.model.annotation.Plural;
import io.fabric8.kubernetes.model.annotation.Singular;
import io.fabric8.kubernetes.model.annotation.Version;

/** Flake attributes to build on a builder node and push to a binary cache, and optionally deploy to a Cluster. */
@Group(Groups.PROCURATOR)
@Version(Groups.V1ALPHA1)
@Kind("Build")
@Plural("builds")
@Singular("build")
@AdditionalPrinterColumn(name = "Phase", jsonPath = ".status.phase", type = AdditionalPrinterColumn.Type.STRING)
@AdditionalPrinterColumn(name = "Node", jsonPath = ".status.nodeName", type = AdditionalPrinterColumn.Type.STRING)
@AdditionalPrinterColumn(name = "Attempt", jsonPath = ".status.attempt", type = AdditionalPrinterColumn.Type.INTEGER)
@AdditionalPrinterColumn(name = "Commit", jsonPath = ".spec.source.commit", type = AdditionalPrinterColumn.Type.STRING)
@AdditionalPrinterColumn(name = "Message", jsonPath = ".status.message", type = AdditionalPrinterColumn.Type.STRING)
@AdditionalPrinterColumn(name = "Age", jsonPath = ".metadata.creationTimestamp", type = AdditionalPrinterColumn.Type.DATE)
@AdditionalSelectableField(jsonPath = ".status.phase")
@AdditionalSelectableField(jsonPath = ".status.nodeName")
public class Build extends CustomResource<BuildSpec, BuildStatus> implements Namespaced {
  /** The schema requires a spec. */
  @Override
  @io.fabric8.generator.annotation.Required
  public BuildSpec getSpec() {
    return super.getSpec();
  }
}
