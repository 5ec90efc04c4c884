package dev.procurator.controllers.clusters;

import dev.procurator.api.runtime.ObjectKey;
import dev.procurator.api.v1alpha1.VM;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The VM creates and deletes of each Cluster's passes that a cache of VMs has not shown yet (what
 * Kubernetes' ReplicaSet controller calls expectations). A pass may decide from the cache only when
 * the cache shows all of them: a VM created a moment ago is then never missed and made twice, and
 * one deleted a moment ago is never deleted or replaced twice. After a write whose outcome is not
 * known (the call failed), the next pass must read the API. Thread-safe.
 */
public final class OwnWrites {
  private static final class Pending {
    final Set<String> created = new HashSet<>();
    final Set<String> deleted = new HashSet<>();
    boolean unknown;
  }

  private final Map<ObjectKey, Pending> pending = new HashMap<>();

  public synchronized void created(ObjectKey cluster, String vm) {
    pending.computeIfAbsent(cluster, k -> new Pending()).created.add(vm);
  }

  public synchronized void deleted(ObjectKey cluster, String vm) {
    pending.computeIfAbsent(cluster, k -> new Pending()).deleted.add(vm);
  }

  /** A write of {@code cluster}'s pass failed and may or may not have happened. */
  public synchronized void unknown(ObjectKey cluster) {
    pending.computeIfAbsent(cluster, k -> new Pending()).unknown = true;
  }

  /** The VMs were read from the API: they show every write made before the read. */
  public synchronized void readFromApi(ObjectKey cluster) {
    pending.remove(cluster);
  }

  /** The Cluster is gone: nothing of it is waited for. */
  public synchronized void forget(ObjectKey cluster) {
    pending.remove(cluster);
  }

  /**
   * Whether {@code cached}, the cache's VMs of {@code cluster}, shows every write its passes made;
   * the writes it shows are forgotten.
   */
  public synchronized boolean shownBy(ObjectKey cluster, List<VM> cached) {
    Pending p = pending.get(cluster);
    if (p == null) {
      return true;
    }
    if (p.unknown) {
      return false;
    }
    Map<String, VM> byName = new HashMap<>();
    for (VM vm : cached) {
      byName.put(vm.getMetadata().getName(), vm);
    }
    p.created.removeIf(byName::containsKey);
    p.deleted.removeIf(name -> !byName.containsKey(name) || byName.get(name).getMetadata().getDeletionTimestamp() != null);
    if (p.created.isEmpty() && p.deleted.isEmpty()) {
      pending.remove(cluster);
      return true;
    }
    return false;
  }
}
