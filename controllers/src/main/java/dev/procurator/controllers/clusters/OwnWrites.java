package dev.procurator.controllers.clusters;

import dev.procurator.api.runtime.ObjectKey;
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

/**
 * What each Cluster's passes wrote that the controllers' caches have not shown yet (what
 * Kubernetes' ReplicaSet controller calls expectations): the VMs and ControllerRevisions they
 * created, deleted or marked. A pass may decide from a cache only when it shows all of its kind:
 * a VM created a moment ago is then never missed and made twice, one deleted a moment ago never
 * deleted or replaced twice. After a write whose outcome is not known (the call failed), the
 * Cluster's expectations are {@linkplain #forget dropped}: the caches show what happened. (The
 * Cluster's own writes are the loop dispatcher's to follow.) Thread-safe.
 */
public final class OwnWrites {
  /** The writes of one kind: names created, names deleted, and (revisions) outcomes marked. */
  private static final class Kind {
    final Set<String> created = new HashSet<>();
    final Set<String> deleted = new HashSet<>();
    final Map<String, String> marked = new HashMap<>();

    boolean empty() {
      return created.isEmpty() && deleted.isEmpty() && marked.isEmpty();
    }

    /** Forgets what {@code cached} shows; true when it shows everything. */
    boolean shownBy(List<? extends HasMetadata> cached, Map<String, String> outcomes) {
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

    boolean empty() {
      return vms.empty() && revisions.empty();
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


}
