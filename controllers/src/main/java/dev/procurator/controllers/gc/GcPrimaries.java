package dev.procurator.controllers.gc;

import dev.procurator.api.runtime.ObjectKey;
import dev.procurator.api.runtime.Primaries;
import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.dsl.Resource;
import io.fabric8.kubernetes.client.informers.SharedIndexInformer;
import java.util.ArrayList;
import java.util.List;

/** The objects of one kind, as the garbage collector reads and writes them: it writes no status, only finalizers. */
final class GcPrimaries implements Primaries<GenericKubernetesResource, Void> {
  private final KubernetesClient client;
  private final GcKind kind;
  private final SharedIndexInformer<GenericKubernetesResource> informer;

  GcPrimaries(KubernetesClient client, GcKind kind, SharedIndexInformer<GenericKubernetesResource> informer) {
    this.client = client;
    this.kind = kind;
    this.informer = informer;
  }

  Resource<GenericKubernetesResource> resource(ObjectKey key) {
    var ops = client.genericKubernetesResources(kind.context());
    return kind.namespaced() ? ops.inNamespace(key.namespace()).withName(key.name()) : ops.withName(key.name());
  }

  @Override
  public GenericKubernetesResource cached(ObjectKey key) {
    return informer.getStore().getByKey(key.toString());
  }

  @Override
  public GenericKubernetesResource fetch(ObjectKey key) {
    return resource(key).get();
  }

  @Override
  public GenericKubernetesResource copy(GenericKubernetesResource object) {
    return client.getKubernetesSerialization().clone(object);
  }

  @Override
  public Void status(GenericKubernetesResource object) {
    return null;
  }

  @Override
  public GenericKubernetesResource writeStatus(GenericKubernetesResource object, Void status) {
    throw new UnsupportedOperationException("the garbage collector writes no status");
  }

  @Override
  public GenericKubernetesResource writeFinalizers(GenericKubernetesResource object, List<String> finalizers) {
    object.getMetadata().setFinalizers(new ArrayList<>(finalizers));
    return client.resource(object).update();
  }
}
