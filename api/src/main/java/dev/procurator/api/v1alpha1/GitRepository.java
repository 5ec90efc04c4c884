package dev.procurator.api.v1alpha1;

import io.fabric8.crd.generator.annotation.AdditionalPrinterColumn;
import io.fabric8.kubernetes.api.model.Namespaced;
import io.fabric8.kubernetes.client.CustomResource;
import io.fabric8.kubernetes.model.annotation.Group;
import io.fabric8.kubernetes.model.annotation.Kind;
import io.fabric8.kubernetes.model.annotation.Plural;
import io.fabric8.kubernetes.model.annotation.Singular;
import io.fabric8.kubernetes.model.annotation.Version;

/** A git remote whose manifests are the desired state to sync. */
@Group(Groups.PROCURATOR)
@Version(Groups.V1ALPHA1)
@Kind("GitRepository")
@Plural("gitrepositories")
@Singular("gitrepository")
@AdditionalPrinterColumn(name = "URL", jsonPath = ".spec.url", type = AdditionalPrinterColumn.Type.STRING)
@AdditionalPrinterColumn(name = "Commit", jsonPath = ".status.lastAppliedCommit", type = AdditionalPrinterColumn.Type.STRING)
@AdditionalPrinterColumn(name = "Ready", jsonPath = ".status.conditions[?(@.type==\"Ready\")].status", type = AdditionalPrinterColumn.Type.STRING)
@AdditionalPrinterColumn(name = "Age", jsonPath = ".metadata.creationTimestamp", type = AdditionalPrinterColumn.Type.DATE)
@AdditionalPrinterColumn(name = "Message", jsonPath = ".status.conditions[?(@.type==\"Ready\")].message", type = AdditionalPrinterColumn.Type.STRING)
public class GitRepository extends CustomResource<GitRepositorySpec, GitRepositoryStatus> implements Namespaced {
  /** The schema requires a spec. */
  @Override
  @io.fabric8.generator.annotation.Required
  public GitRepositorySpec getSpec() {
    return super.getSpec();
  }
}
