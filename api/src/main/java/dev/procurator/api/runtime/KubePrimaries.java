package dev.procurator.api.runtime;

import io.fabric8.kubernetes.client.CustomResource;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.informers.SharedIndexInformer;
import java.util.ArrayList;
import java.util.List;

/** A loop's primary objects in a Kubernetes API: read from an informer's cache, written with the resourceVersion read. */
public final class KubePrimaries<P extends CustomResource<?, S>, S> implements Primaries<P, S> {
  private final KubernetesClient client;
  private final Class<P> kind;
  private final SharedIndexInformer<P> informer;

  public KubePrimaries(KubernetesClient client, Class<P> kind, SharedIndexInformer<P> informer) {
    this.client = client;
    this.kind = kind;
    this.informer = informer;
  }

  @Override
  public P cached(ObjectKey key) {
    return informer.getStore().getByKey(key.toString());
  }

  @Override
  public P fetch(ObjectKey key) {
    var resources = client.resources(kind);
    return key.namespaced() ? resources.inNamespace(key.namespace()).withName(key.name()).get() : resources.withName(key.name()).get();
  }

  @Override
  public P copy(P object) {
    return client.getKubernetesSerialization().clone(object);
  }

  @Override
  public S status(P object) {
    return object.getStatus();
  }

  @Override
  public P writeStatus(P object, S status) {
    object.setStatus(status); // the pass's own copy (see Primaries)
    return client.resource(object).updateStatus();
  }

  @Override
  public P writeFinalizers(P object, List<String> finalizers) {
    object.getMetadata().setFinalizers(new ArrayList<>(finalizers));
    return client.resource(object).update();
  }
}
