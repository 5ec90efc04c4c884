package dev.procurator.controllers.clusters;

import dev.procurator.api.runtime.ObjectKey;
import dev.procurator.api.v1alpha1.Cluster;
import dev.procurator.api.v1alpha1.Revisions;
import dev.procurator.api.v1alpha1.VM;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.apps.ControllerRevision;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.function.Function;

/**
 * What each Cluster's passes wrote that the controllers' caches have not shown yet (what
 * Kubernetes' ReplicaSet controller calls expectations): the VMs and ControllerRevisions they
 * created, deleted or marked, and the Cluster's own last write. A pass may decide from a cache
 * only when it shows all of its kind: a VM created a moment ago is then never missed and made
 * twice, one deleted a moment ago never deleted or replaced twice, and a status just written never
 * read back older. After a write whose outcome is not known (the call failed), the next pass reads
 * everything from the API. Thread-safe.
 */
public final class OwnWrites {
  /** The writes of one kind: names created, names deleted, and (revisions) outcomes marked. */
  private static final class Kind {
    final Set<String> created = new HashSet<>();
    final Set<String> deleted = new HashSet<>();
    final Map<String, String> marked = new HashMap<>();
    boolean unknown;

    boolean empty() {
      return created.isEmpty() && deleted.isEmpty() && marked.isEmpty() && !unknown;
    }

    void clear() {
      created.clear();
      deleted.clear();
      marked.clear();
      unknown = false;
    }

    /** Forgets what {@code cached} shows; true when it shows everything. */
    boolean shownBy(List<? extends HasMetadata> cached, Map<String, String> outcomes) {
      if (unknown) {
        return false;
      }
      Map<String, HasMetadata> byName = new HashMap<>();
      for (HasMetadata o : cached) {
        byName.put(o.getMetadata().getName(), o);
      }
      created.removeIf(byName::containsKey);
      deleted.removeIf(name -> !byName.containsKey(name) || byName.get(name).getMetadata().getDeletionTimestamp() != null);
      marked.entrySet().removeIf(e -> !byName.containsKey(e.getKey()) || Objects.equals(outcomes.get(e.getKey()), e.getValue()));
      return created.isEmpty() && deleted.isEmpty() && marked.isEmpty();
    }
  }

  private static final class Pending {
    final Kind vms = new Kind();
    final Kind revisions = new Kind();
    long clusterVersion = -1;
    boolean clusterUnknown;

    boolean empty() {
      return vms.empty() && revisions.empty() && clusterVersion < 0 && !clusterUnknown;
    }
  }

  private final Map<ObjectKey, Pending> pending = new HashMap<>();

  private Pending of(ObjectKey cluster) {
    return pending.computeIfAbsent(cluster, k -> new Pending());
  }

  private void tidy(ObjectKey cluster) {
    Pending p = pending.get(cluster);
    if (p != null && p.empty()) {
      pending.remove(cluster);
    }
  }

  public synchronized void created(ObjectKey cluster, String vm) {
    of(cluster).vms.created.add(vm);
  }

  public synchronized void deleted(ObjectKey cluster, String vm) {
    of(cluster).vms.deleted.add(vm);
  }

  public synchronized void revisionCreated(ObjectKey cluster, String revision) {
    of(cluster).revisions.created.add(revision);
  }

  public synchronized void revisionDeleted(ObjectKey cluster, String revision) {
    of(cluster).revisions.deleted.add(revision);
  }

  public synchronized void revisionMarked(ObjectKey cluster, String revision, String outcome) {
    of(cluster).revisions.marked.put(revision, outcome);
  }

  /** A pass wrote the Cluster itself (its status, its finalizers), which now has {@code resourceVersion}. */
  public synchronized void wroteCluster(ObjectKey cluster, String resourceVersion) {
    long v = version(resourceVersion);
    Pending p = of(cluster);
    if (v < 0) {
      p.clusterUnknown = true; // not a number this can compare: read it from the API until told otherwise
    } else {
      p.clusterVersion = Math.max(p.clusterVersion, v);
    }
  }

  /** A write of {@code cluster}'s pass failed and may or may not have happened. */
  public synchronized void unknown(ObjectKey cluster) {
    Pending p = of(cluster);
    p.vms.unknown = true;
    p.revisions.unknown = true;
    p.clusterUnknown = true;
  }

  /** The VMs were read from the API: they show every write made before the read. */
  public synchronized void vmsFromApi(ObjectKey cluster) {
    readFromApi(cluster, p -> p.vms);
  }

  /** The revisions were read from the API. */
  public synchronized void revisionsFromApi(ObjectKey cluster) {
    readFromApi(cluster, p -> p.revisions);
  }

  private void readFromApi(ObjectKey cluster, Function<Pending, Kind> kind) {
    Pending p = pending.get(cluster);
    if (p != null) {
      kind.apply(p).clear();
      tidy(cluster);
    }
  }

  /** The Cluster was read from the API. */
  public synchronized void clusterFromApi(ObjectKey cluster) {
    Pending p = pending.get(cluster);
    if (p != null) {
      p.clusterVersion = -1;
      p.clusterUnknown = false;
      tidy(cluster);
    }
  }

  /** The Cluster is gone: nothing of it is waited for. */
  public synchronized void forget(ObjectKey cluster) {
    pending.remove(cluster);
  }

  /** Whether {@code cached}, the cache's VMs of {@code cluster}, shows every VM write its passes made. */
  public synchronized boolean shownBy(ObjectKey cluster, List<VM> cached) {
    Pending p = pending.get(cluster);
    if (p == null) {
      return true;
    }
    boolean shown = p.vms.shownBy(cached, Map.of());
    tidy(cluster);
    return shown;
  }

  /** Whether {@code cached}, the cache's ControllerRevisions of {@code cluster}, shows every revision write. */
  public synchronized boolean revisionsShownBy(ObjectKey cluster, List<ControllerRevision> cached) {
    Pending p = pending.get(cluster);
    if (p == null) {
      return true;
    }
    Map<String, String> outcomes = new HashMap<>();
    for (ControllerRevision r : cached) {
      Map<String, String> ann = r.getMetadata().getAnnotations();
      outcomes.put(r.getMetadata().getName(), ann == null ? null : ann.get(Revisions.OUTCOME_ANNOTATION));
    }
    boolean shown = p.revisions.shownBy(cached, outcomes);
    tidy(cluster);
    return shown;
  }

  /** Whether {@code cached} (null: not in the cache) is at least as new as the passes' last write of the Cluster. */
  public synchronized boolean clusterShownBy(ObjectKey cluster, Cluster cached) {
    Pending p = pending.get(cluster);
    if (p == null) {
      return cached != null;
    }
    if (cached == null || p.clusterUnknown) {
      return false;
    }
    if (version(cached.getMetadata().getResourceVersion()) >= p.clusterVersion) {
      p.clusterVersion = -1;
      tidy(cluster);
      return true;
    }
    return false;
  }

  private static long version(String resourceVersion) {
    try {
      return resourceVersion == null ? -1 : Long.parseLong(resourceVersion);
    } catch (NumberFormatException e) {
      return -1;
    }
  }
}
