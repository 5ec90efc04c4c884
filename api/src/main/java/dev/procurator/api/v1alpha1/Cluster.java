package dev.procurator.api.v1alpha1;

import io.fabric8.crd.generator.annotation.AdditionalPrinterColumn;
import io.fabric8.kubernetes.api.model.Namespaced;
import io.fabric8.kubernetes.client.CustomResource;
import io.fabric8.kubernetes.model.annotation.Group;
import io.fabric8.kubernetes.model.annotation.Kind;
import io.fabric8.kubernetes.model.annotation.Plural;
import io.fabric8.kubernetes.model.annotation.Singular;
import io.fabric8.kubernetes.model.annotation.Version;

/** A blueprint of VM templates with replicas, rolled out with a strategy. */
@Group(Groups.PROCURATOR)
@Version(Groups.V1ALPHA1)
@Kind("Cluster")
@Plural("clusters")
@Singular("cluster")
@AdditionalPrinterColumn(name = "Desired", jsonPath = ".status.replicas", type = AdditionalPrinterColumn.Type.INTEGER)
@AdditionalPrinterColumn(name = "Ready", jsonPath = ".status.readyReplicas", type = AdditionalPrinterColumn.Type.INTEGER)
@AdditionalPrinterColumn(name = "Up-to-date", jsonPath = ".status.updatedReplicas", type = AdditionalPrinterColumn.Type.INTEGER)
@AdditionalPrinterColumn(name = "Available", jsonPath = ".status.availableReplicas", type = AdditionalPrinterColumn.Type.INTEGER)
@AdditionalPrinterColumn(name = "Revision", jsonPath = ".status.currentRevision", type = AdditionalPrinterColumn.Type.STRING)
@AdditionalPrinterColumn(name = "Progress", jsonPath = ".status.conditions[?(@.type==\"Progressing\")].reason",
    type = AdditionalPrinterColumn.Type.STRING)
@AdditionalPrinterColumn(name = "Age", jsonPath = ".metadata.creationTimestamp", type = AdditionalPrinterColumn.Type.DATE)
@AdditionalPrinterColumn(name = "Update", jsonPath = ".status.updateRevision", type = AdditionalPrinterColumn.Type.STRING, priority = 1)
@AdditionalPrinterColumn(name = "Message", jsonPath = ".status.conditions[?(@.type==\"Progressing\")].message",
    type = AdditionalPrinterColumn.Type.STRING, priority = 1)
public class Cluster extends CustomResource<ClusterSpec, ClusterStatus> implements Namespaced {
  /** Annotation that asks a paused rollout to go on: the time of the request (RFC 3339). */
  public static final String PROMOTE = "procurator.dev/promote";
  /** Annotation that asks for new VMs of the same revision: those created before this time are replaced. */
  public static final String RESTARTED_AT = "procurator.dev/restartedAt";
  /** Annotation carrying the git commit the Cluster's spec came from; copied into its revisions. */
  public static final String GIT_COMMIT = "procurator.dev/git-commit";

  /** The schema requires a spec. */
  @Override
  @io.fabric8.generator.annotation.Required
  public ClusterSpec getSpec() {
    return super.getSpec();
  }
}
