package dev.procurator.nodeagent;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.procurator.api.runtime.KubePrimaries;
import dev.procurator.api.runtime.NotFound;
import dev.procurator.api.runtime.ObjectKey;
import dev.procurator.api.runtime.Primaries;
import io.fabric8.kubernetes.client.CustomResource;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.fabric8.kubernetes.client.dsl.base.PatchContext;
import io.fabric8.kubernetes.client.dsl.base.PatchType;
import io.fabric8.kubernetes.client.informers.SharedIndexInformer;
import java.util.List;
import java.util.function.Predicate;

/**
 * A node's view of the objects of one kind placed on it, for a loop's dispatcher: read from the
 * informer that holds only those (a field selector) and, while that cache does not show the
 * agent's own last write yet, from the API, where a node may read only what is placed on it (a 403
 * means "no longer mine", the same as gone). An object {@code mine} does not accept is gone for
 * the node too. Status is written as any loop writes it; finalizers as a merge patch of the list
 * alone at the version read, since a node may change no more of an object than its status and its
 * own finalizer. Letting go of an object that is gone already is done.
 */
public final class NodeObjects<P extends CustomResource<?, S>, S> implements Primaries<P, S> {
  private static final ObjectMapper JSON = new ObjectMapper();

  private final KubernetesClient client;
  private final Class<P> kind;
  private final KubePrimaries<P, S> kube;
  private final Predicate<P> mine;

  public NodeObjects(KubernetesClient client, Class<P> kind, SharedIndexInformer<P> informer, Predicate<P> mine) {
    this.client = client;
    this.kind = kind;
    this.kube = new KubePrimaries<>(client, kind, informer);
    this.mine = mine;
  }

  @Override
  public P cached(ObjectKey key) {
    return mineOrNull(kube.cached(key));
  }

  @Override
  public P fetch(ObjectKey key) {
    try {
      return mineOrNull(kube.fetch(key));
    } catch (KubernetesClientException e) {
      if (e.getCode() != 403) {
        throw e;
      }
      return null;
    }
  }

  private P mineOrNull(P object) {
    return object == null || !mine.test(object) ? null : object;
  }

  @Override
  public P copy(P object) {
    return kube.copy(object);
  }

  @Override
  public S status(P object) {
    return kube.status(object);
  }

  @Override
  public P writeStatus(P object, S status) {
    return kube.writeStatus(object, status);
  }

  @Override
  public P writeFinalizers(P object, List<String> finalizers) throws Exception {
    ObjectNode patch = JSON.createObjectNode();
    ObjectNode meta = patch.putObject("metadata");
    meta.put("resourceVersion", object.getMetadata().getResourceVersion());
    ArrayNode list = meta.putArray("finalizers");
    finalizers.forEach(list::add);
    P written = NotFound.orNull(() -> client.resources(kind).inNamespace(object.getMetadata().getNamespace())
        .withName(object.getMetadata().getName()).patch(PatchContext.of(PatchType.JSON_MERGE), patch.toString()));
    return written != null ? written : object;
  }
}
