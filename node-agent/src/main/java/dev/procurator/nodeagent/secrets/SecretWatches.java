package dev.procurator.nodeagent.secrets;

import dev.procurator.api.runtime.ObjectKey;
import dev.procurator.api.v1alpha1.Secret;
import dev.procurator.api.v1alpha1.VM;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.informers.SharedIndexInformer;
import java.util.HashSet;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One watch per Secret that a VM bound here mounts, as a kubelet watches its pods' Secrets: a
 * node may read only those (the node authorizer refuses a list of all Secrets), and a change of
 * one reaches the VMs that mount it at once. A watch starts when a VM's pass first reads its
 * Secret (on that worker, in place of the read) and stops when no VM here mounts it any more, so
 * informer events never wait on the API. Thread-safe.
 */
public final class SecretWatches implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(SecretWatches.class);

  private final KubernetesClient client;
  private final Consumer<ObjectKey> changed;
  private final Map<ObjectKey, SharedIndexInformer<Secret>> watches = new ConcurrentHashMap<>();

  /** {@code changed} is told the key of a Secret that was created, changed or deleted. */
  public SecretWatches(KubernetesClient client, Consumer<ObjectKey> changed) {
    this.client = client;
    this.changed = changed;
  }

  /** Stops the watches of Secrets none of these VMs mounts. */
  public synchronized void follow(Iterable<VM> vms) {
    Set<ObjectKey> wanted = new HashSet<>();
    for (VM vm : vms) {
      if (vm.getSpec() != null && vm.getSpec().secrets() != null) {
        vm.getSpec().secrets().forEach(m -> wanted.add(new ObjectKey(vm.getMetadata().getNamespace(), m.name())));
      }
    }
    for (ObjectKey key : Set.copyOf(watches.keySet())) {
      if (!wanted.contains(key)) {
        watches.remove(key).close();
      }
    }
  }

  private SharedIndexInformer<Secret> watch(ObjectKey key) {
    log.debug("watching Secret {}", key);
    return client.resources(Secret.class).inNamespace(key.namespace()).withName(key.name())
        .inform(dev.procurator.api.runtime.Handlers.onEveryChange(s -> changed.accept(key)), 0);
  }

  /**
   * A Secret's values, from its watch (started now if there is none); when the watch cannot start
   * (the API refused it), read from the API, whose error says why. Empty when it does not exist.
   */
  public Optional<Map<String, byte[]>> read(ObjectKey key) {
    SharedIndexInformer<Secret> w;
    try {
      w = watches.computeIfAbsent(key, this::watch);
    } catch (RuntimeException e) {
      log.debug("cannot watch Secret {} ({}); reading it instead", key, e.toString());
      w = null;
    }
    Secret s = w != null && w.hasSynced() ? w.getStore().getByKey(key.namespace() + "/" + key.name())
        : client.resources(Secret.class).inNamespace(key.namespace()).withName(key.name()).get();
    return s == null || s.getSpec() == null ? Optional.empty() : Optional.of(s.getSpec().decoded());
  }

  @Override
  public synchronized void close() {
    watches.values().forEach(SharedIndexInformer::close);
    watches.clear();
  }
}
