package dev.procurator.api.v1alpha1;

import io.fabric8.crd.generator.annotation.AdditionalPrinterColumn;
import io.fabric8.kubernetes.client.CustomResource;
import io.fabric8.kubernetes.model.annotation.Group;
import io.fabric8.kubernetes.model.annotation.Kind;
import io.fabric8.kubernetes.model.annotation.Plural;
import io.fabric8.kubernetes.model.annotation.Singular;
import io.fabric8.kubernetes.model.annotation.Version;

/**
 * A binary cache an admin lets Builds push to. Cluster-scoped, as a StorageClass is: admins
 * register caches, and a Build's {@code spec.cache} must name one of them (a Build that names none
 * pushes to its builder's own cache).
 */
@Group(Groups.PROCURATOR)
@Version(Groups.V1ALPHA1)
@Kind("BinaryCache")
@Plural("binarycaches")
@Singular("binarycache")
@AdditionalPrinterColumn(name = "URL", jsonPath = ".spec.url", type = AdditionalPrinterColumn.Type.STRING)
@AdditionalPrinterColumn(name = "Age", jsonPath = ".metadata.creationTimestamp", type = AdditionalPrinterColumn.Type.DATE)
public class BinaryCache extends CustomResource<BinaryCacheSpec, Void> {
}
