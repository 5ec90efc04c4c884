package dev.procurator.controllers.gc;

import dev.procurator.api.runtime.Controller;
import dev.procurator.api.runtime.Decision;
import dev.procurator.api.runtime.Dispatcher;
import dev.procurator.api.runtime.Finalizers;
import dev.procurator.api.runtime.Loop;
import dev.procurator.api.runtime.NotFound;
import dev.procurator.api.runtime.ObjectKey;
import dev.procurator.api.runtime.Reconciler;
import dev.procurator.api.runtime.Result;
import io.fabric8.kubernetes.api.model.APIGroup;
import io.fabric8.kubernetes.api.model.APIResource;
import io.fabric8.kubernetes.api.model.DeletionPropagation;
import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.OwnerReference;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.dsl.Resource;
import io.fabric8.kubernetes.client.informers.ResourceEventHandler;
import io.fabric8.kubernetes.client.informers.SharedIndexInformer;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The garbage collector for every kind the server serves (but Events): it follows them all with
 * informers, keeps an index of who owns whom, and for each object that changed (and its owners
 * and dependents) runs a pass of the skeleton's {@link Dispatcher} for its kind, where {@link Cascade#decide} say what to delete, orphan or release. An owner
 * that looks gone in the caches is looked up in the API before anything is deleted for it. All
 * its state is in the API (owner references, finalizers), so a collector that restarts in the
 * middle of a cascade finishes it.
 */
public final class GarbageCollector implements Reconciler<GcKey>, AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(GarbageCollector.class);

  private final KubernetesClient client;
  private final List<GcKind> kinds;
  private final Map<GcKind, SharedIndexInformer<GenericKubernetesResource>> informers = new HashMap<>();
  private final Map<GcKind, Dispatcher<GenericKubernetesResource, Void, Cascade.Action>> dispatchers = new HashMap<>();
  /** uid → the object's key; owner uid → its dependents. */
  private final Map<String, GcKey> byUid = new ConcurrentHashMap<>();
  private final Map<String, Set<GcKey>> dependents = new ConcurrentHashMap<>();
  private final Map<GcKey, List<String>> ownersOf = new ConcurrentHashMap<>();
  private Controller<GcKey> controller;
  private boolean closed;

  public GarbageCollector(KubernetesClient client, List<GcKind> kinds) {
    this.client = client;
    this.kinds = List.copyOf(kinds);
  }

  /** Every listable, deletable kind the server serves, but Events (many, and owned by nothing). */
  public static List<GcKind> discover(KubernetesClient client) {
    List<GcKind> out = new ArrayList<>();
    addKinds(out, "", "v1", client.getApiResources("v1").getResources());
    for (APIGroup g : client.getApiGroups().getGroups()) {
      String gv = g.getPreferredVersion().getGroupVersion();
      addKinds(out, g.getName(), g.getPreferredVersion().getVersion(), client.getApiResources(gv).getResources());
    }
    return out;
  }

  private static void addKinds(List<GcKind> out, String group, String version, List<APIResource> resources) {
    for (APIResource r : resources) {
      if (r.getName().contains("/") || r.getKind().equals("Event") || r.getVerbs() == null
          || !r.getVerbs().containsAll(List.of("list", "watch", "delete"))) {
        continue;
      }
      out.add(new GcKind(group, version, r.getKind(), r.getName(), Boolean.TRUE.equals(r.getNamespaced())));
    }
  }

  /**
   * Starts following every kind, feeding {@code controller}, and starts its {@code workers} once
   * every cache is filled. Returns at once.
   */
  public void start(Controller<GcKey> controller, int workers) {
    this.controller = controller;
    for (GcKind kind : kinds) {
      var ops = client.genericKubernetesResources(kind.context());
      SharedIndexInformer<GenericKubernetesResource> informer = (kind.namespaced() ? ops.inAnyNamespace() : ops).runnableInformer(0);
      informer.addEventHandler(new ResourceEventHandler<>() {
        @Override
        public void onAdd(GenericKubernetesResource o) {
          changed(kind, o, false);
        }

        @Override
        public void onUpdate(GenericKubernetesResource old, GenericKubernetesResource o) {
          changed(kind, o, false);
        }

        @Override
        public void onDelete(GenericKubernetesResource o, boolean unknown) {
          changed(kind, o, true);
        }
      });
      informers.put(kind, informer);
      GcPrimaries objects = new GcPrimaries(client, kind, informer);
      dispatchers.put(kind, new Dispatcher<>(new KindLoop(kind, objects), objects, null, Dispatcher.Events.NONE));
    }
    List<java.util.concurrent.CompletableFuture<Void>> synced = new ArrayList<>();
    informers.values().forEach(i -> synced.add(i.start().toCompletableFuture()));
    java.util.concurrent.CompletableFuture.allOf(synced.toArray(java.util.concurrent.CompletableFuture[]::new)).thenRun(() -> {
      synchronized (this) {
        if (!closed) {
          controller.start(workers); // no decision from a half-filled index of owners
        }
      }
    });
  }

  private void changed(GcKind kind, GenericKubernetesResource o, boolean deleted) {
    GcKey key = new GcKey(kind, ObjectKey.of(o));
    String uid = o.getMetadata().getUid();
    List<String> owners = o.getMetadata().getOwnerReferences() == null ? List.of()
        : o.getMetadata().getOwnerReferences().stream().map(OwnerReference::getUid).filter(Objects::nonNull).toList();
    List<String> before = ownersOf.remove(key);
    if (before != null) {
      before.forEach(u -> dependents.computeIfPresent(u, (k, s) -> {
        s.remove(key);
        return s.isEmpty() ? null : s;
      }));
    }
    if (deleted) {
      byUid.remove(uid);
    } else {
      byUid.put(uid, key);
      ownersOf.put(key, owners);
      owners.forEach(u -> dependents.computeIfAbsent(u, k -> ConcurrentHashMap.newKeySet()).add(key));
    }
    // this object, the owners that may now be released, and the dependents that may now be orphans
    if (!deleted && (!owners.isEmpty() || o.getMetadata().getDeletionTimestamp() != null)) {
      controller.enqueue(key);
    }
    // owners it names now, and owners it named before (one that let it go may now be released)
    owners.stream().map(byUid::get).filter(Objects::nonNull).forEach(controller::enqueue);
    if (before != null) {
      before.stream().filter(u -> !owners.contains(u)).map(byUid::get).filter(Objects::nonNull).forEach(controller::enqueue);
    }
    if (deleted || o.getMetadata().getDeletionTimestamp() != null) {
      dependents.getOrDefault(uid, Set.of()).forEach(controller::enqueue);
    }
  }

  private GenericKubernetesResource cached(GcKey key) {
    SharedIndexInformer<GenericKubernetesResource> inf = informers.get(key.kind());
    return inf == null ? null : inf.getStore().getByKey(key.key().toString());
  }

  @Override
  public Result reconcile(GcKey key) throws Exception {
    Dispatcher<GenericKubernetesResource, Void, Cascade.Action> d = dispatchers.get(key.kind());
    return d == null ? Result.done() : d.reconcile(key.key());
  }

  /** One kind's pass: {@link Cascade#decide} from the caches; an owner they do not show is looked up before a delete. */
  private final class KindLoop implements Loop<GenericKubernetesResource, Void, Cascade.Action> {
    private final GcKind kind;
    private final GcPrimaries objects;

    KindLoop(GcKind kind, GcPrimaries objects) {
      this.kind = kind;
      this.objects = objects;
    }

    @Override
    public Decision<Void, Cascade.Action> decide(GenericKubernetesResource o) {
      GcKey key = new GcKey(kind, ObjectKey.of(o));
      Map<String, Cascade.Owner> owners = new HashMap<>();
      if (o.getMetadata().getOwnerReferences() != null) {
        for (OwnerReference ref : o.getMetadata().getOwnerReferences()) {
          owners.put(ref.getUid(), byUid.containsKey(ref.getUid()) ? Cascade.Owner.PRESENT
              : ownerKind(key, ref) == null ? Cascade.Owner.UNKNOWN : Cascade.Owner.ABSENT);
        }
      }
      List<Cascade.Dependent> deps = new ArrayList<>();
      for (GcKey d : dependents.getOrDefault(o.getMetadata().getUid(), Set.of())) {
        GenericKubernetesResource dep = cached(d);
        if (dep != null) {
          deps.add(new Cascade.Dependent(d, dep.getMetadata().getDeletionTimestamp() != null));
        }
      }
      return Cascade.decide(o, owners, deps);
    }

    @Override
    public GenericKubernetesResource act(GenericKubernetesResource o, Cascade.Action a) throws Exception {
      GcKey key = new GcKey(kind, ObjectKey.of(o));
      NotFound.ignore(() -> {
        switch (a) {
          case Cascade.Action.DeleteSelf d -> {
            if (anOwnerIsThere(key, o)) {
              return; // the caches had not shown it yet
            }
            log.info("garbage collector: deleting {}: {}", key, d.why());
            objects.resource(key.key()).withPropagationPolicy(DeletionPropagation.BACKGROUND).delete();
          }
          case Cascade.Action.DeleteDependent d -> {
            log.info("garbage collector: deleting {} before its owner {}", d.dependent(), key);
            resource(d.dependent()).withPropagationPolicy(DeletionPropagation.FOREGROUND).delete();
          }
          case Cascade.Action.Orphan d -> resource(d.dependent()).edit(dep -> {
            if (dep.getMetadata().getOwnerReferences() != null) {
              dep.getMetadata().getOwnerReferences().removeIf(r -> o.getMetadata().getUid().equals(r.getUid()));
            }
            return dep;
          });
          case Cascade.Action.RemoveFinalizer f -> {
            log.info("garbage collector: {} is released ({} done)", key, f.finalizer());
            objects.writeFinalizers(o, Finalizers.without(o, f.finalizer()));
          }
        }
      });
      return o;
    }
  }

  /** The served kind an owner reference names, or null when the server serves none (or it cannot own this object). */
  private GcKind ownerKind(GcKey dependent, OwnerReference ref) {
    GcKind kind = kinds.stream().filter(k -> k.matches(ref.getApiVersion(), ref.getKind())).findFirst().orElse(null);
    if (kind != null && kind.namespaced() && dependent.key().namespace() == null) {
      return null; // a cluster-scoped object cannot be owned by a namespaced one
    }
    return kind;
  }

  /** Whether one of {@code o}'s owners exists after all, asked of the API itself. */
  private boolean anOwnerIsThere(GcKey key, GenericKubernetesResource o) {
    for (OwnerReference ref : o.getMetadata().getOwnerReferences()) {
      GcKind kind = ownerKind(key, ref);
      if (kind == null) {
        return true;
      }
      String ns = kind.namespaced() ? key.key().namespace() : null;
      GenericKubernetesResource live = resource(new GcKey(kind, new ObjectKey(ns, ref.getName()))).get();
      if (live != null && ref.getUid().equals(live.getMetadata().getUid())) {
        return true;
      }
    }
    return false;
  }

  private Resource<GenericKubernetesResource> resource(GcKey key) {
    var ops = client.genericKubernetesResources(key.kind().context());
    return key.kind().namespaced() ? ops.inNamespace(key.key().namespace()).withName(key.key().name()) : ops.withName(key.key().name());
  }

  @Override
  public void close() {
    synchronized (this) {
      closed = true;
    }
    informers.values().forEach(SharedIndexInformer::close);
  }
}
