package dev.procurator.controllers.clusters;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.procurator.api.runtime.EventRecorder;
import dev.procurator.api.runtime.EventSpec;
import dev.procurator.api.runtime.ObjectKey;
import dev.procurator.api.runtime.Reconciler;
import dev.procurator.api.runtime.Result;
import dev.procurator.api.runtime.StatusWriter;
import dev.procurator.api.v1alpha1.Cluster;
import dev.procurator.api.v1alpha1.ClusterSpec;
import dev.procurator.api.v1alpha1.Revisions;
import dev.procurator.api.v1alpha1.VM;
import dev.procurator.api.v1alpha1.VMSpec;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.api.model.OwnerReference;
import io.fabric8.kubernetes.api.model.OwnerReferenceBuilder;
import io.fabric8.kubernetes.api.model.apps.ControllerRevision;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.time.Clock;
import java.time.Instant;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.function.Function;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Rolls one Cluster (key {@code namespace/name}) toward its spec: reads the Cluster, the VMs and
 * the ControllerRevisions it owns from the controllers' caches when they show the passes' own
 * last writes ({@link OwnWrites}), from the API otherwise, so a VM created a moment ago is never
 * missed and never made twice; lets {@link ClusterRollout#decide} choose, writes the status once
 * when it changed, then acts. A write that lost a race sends the key back to the queue; every
 * create is idempotent in effect because the next look counts what exists.
 */
public final class ClusterReconciler implements Reconciler<ObjectKey> {
  private static final Logger log = LoggerFactory.getLogger(ClusterReconciler.class);
  private static final ObjectMapper JSON = new ObjectMapper();
  /** Held by a Cluster that has closures pinned, so that they are unpinned before it goes. */
  public static final String PINS_FINALIZER = "procurator.dev/cluster-pins";

  private final KubernetesClient client;
  private final Clock clock;
  private final EventRecorder events;
  private final Optional<CachePins> pins;
  private final Supplier<List<Cluster>> allClusters;
  private final Caches caches;
  private final OwnWrites ownWrites = new OwnWrites();

  /**
   * The controllers' caches, each giving what it holds of one Cluster, or empty while it is not
   * filled yet (or, for the Cluster, does not hold it): the Cluster, the VMs labelled with its
   * name, and the ControllerRevisions labelled with its name.
   */
  public record Caches(Function<ObjectKey, Optional<Cluster>> cluster, Function<ObjectKey, Optional<List<VM>>> vms,
      Function<ObjectKey, Optional<List<ControllerRevision>>> revisions) {
    /** No caches: every pass reads the API. */
    public static Caches none() {
      return new Caches(k -> Optional.empty(), k -> Optional.empty(), k -> Optional.empty());
    }
  }

  /**
   * @param pins the binary cache to pin closures in, if there is one
   * @param allClusters every Cluster (an informer's cache), to see which closures others still pin
   * @param caches where a pass reads first; it reads the API instead for what a cache does not
   *     show of the pass's own last writes yet
   */
  public ClusterReconciler(KubernetesClient client, Clock clock, EventRecorder events, Optional<CachePins> pins,
      Supplier<List<Cluster>> allClusters, Caches caches) {
    this.client = client;
    this.clock = clock;
    this.events = events;
    this.pins = pins;
    this.allClusters = allClusters;
    this.caches = caches;
  }

  @Override
  public Result reconcile(ObjectKey key) throws IOException {
    // what the caches show is used when they show this Cluster's own last writes; what they do
    // not is read from the API, the reads going out together (each is a round trip, and a VM's
    // Healthy waits on all of them)
    var clusterRead = cachedOrRead(caches.cluster().apply(key).filter(c -> ownWrites.clusterShownBy(key, c))
            .map(c -> client.getKubernetesSerialization().clone(c)), // the cache's own copy is never changed
        () -> client.resources(Cluster.class).inNamespace(key.namespace()).withName(key.name()).get(), () -> ownWrites.clusterFromApi(key));
    var vmsRead = cachedOrRead(caches.vms().apply(key).filter(vms -> ownWrites.shownBy(key, vms)),
        () -> client.resources(VM.class).inNamespace(key.namespace()).withLabel(Revisions.CLUSTER_LABEL, key.name()).list().getItems(),
        () -> ownWrites.vmsFromApi(key));
    var historyRead = cachedOrRead(caches.revisions().apply(key).filter(rs -> ownWrites.revisionsShownBy(key, rs)),
        () -> client.resources(ControllerRevision.class).inNamespace(key.namespace()).withLabel(Revisions.CLUSTER_LABEL, key.name())
            .list().getItems(),
        () -> ownWrites.revisionsFromApi(key));
    Cluster cluster = join(clusterRead);
    if (cluster == null) {
      ownWrites.forget(key);
      return Result.done(); // its VMs and revisions go with it (garbage collection)
    }
    if (cluster.getMetadata().getDeletionTimestamp() != null) {
      release(cluster);
      return Result.done();
    }
    String uid = cluster.getMetadata().getUid();
    List<VM> vms = join(vmsRead).stream().filter(v -> ownedBy(v.getMetadata().getOwnerReferences(), uid)).toList();
    List<Revision> history = join(historyRead).stream()
        .filter(r -> ownedBy(r.getMetadata().getOwnerReferences(), uid)).map(ClusterReconciler::revision).toList();
    Set<String> elsewhere = pins.isPresent() ? pinnedByOthers(cluster) : null;
    ClusterRollout.Plan plan = ClusterRollout.decide(cluster, vms, history, elsewhere, clock.instant());
    var pinned = plan.status() != null ? plan.status().pinnedClosures() : cluster.getStatus() == null ? null : cluster.getStatus().pinnedClosures();
    if (pins.isPresent() && pinned != null && !pinned.isEmpty() && !cluster.getMetadata().getFinalizers().contains(PINS_FINALIZER)) {
      cluster.getMetadata().getFinalizers().add(PINS_FINALIZER);
      cluster = client.resource(cluster).update();
      ownWrites.wroteCluster(key, cluster.getMetadata().getResourceVersion());
    }
    if (plan.status() != null) {
      Cluster written = StatusWriter.write(client, cluster, plan.status());
      if (written != cluster) {
        ownWrites.wroteCluster(key, written.getMetadata().getResourceVersion());
      }
      cluster = written;
    }
    for (RolloutAction a : plan.actions()) {
      try {
        act(key, cluster, a);
      } catch (RuntimeException | IOException e) {
        ownWrites.unknown(key); // it may have happened: the next pass reads the API
        throw e;
      }
    }
    for (EventSpec e : plan.events()) {
      events.record(cluster, e.type(), e.reason(), e.note());
    }
    return plan.requeueAfter() == null ? Result.done() : Result.requeueAfter(plan.requeueAfter());
  }

  /** {@code cached} when there is one, else {@code apiRead} on a thread of its own, then {@code afterApiRead}. */
  private static <T> CompletableFuture<T> cachedOrRead(Optional<T> cached, Supplier<T> apiRead, Runnable afterApiRead) {
    if (cached.isPresent()) {
      return CompletableFuture.completedFuture(cached.get());
    }
    return CompletableFuture.supplyAsync(() -> {
      T read = apiRead.get();
      afterApiRead.run();
      return read;
    }, r -> Thread.ofVirtual().name("cluster-read").start(r));
  }

  /** The read's result, its failure thrown as the client threw it. */
  private static <T> T join(CompletableFuture<T> read) {
    try {
      return read.join();
    } catch (CompletionException e) {
      if (e.getCause() instanceof RuntimeException r) {
        throw r;
      }
      throw e;
    }
  }

  /** A Cluster being deleted: its closures are unpinned (unless another Cluster keeps them), then it may go. */
  private void release(Cluster cluster) throws IOException {
    if (!cluster.getMetadata().getFinalizers().contains(PINS_FINALIZER)) {
      return;
    }
    if (pins.isPresent() && cluster.getStatus() != null && cluster.getStatus().pinnedClosures() != null) {
      Set<String> others = pinnedByOthers(cluster);
      for (String closure : cluster.getStatus().pinnedClosures()) {
        if (!others.contains(closure)) {
          pins.get().unpin(closure);
        }
      }
    }
    cluster.getMetadata().getFinalizers().remove(PINS_FINALIZER);
    try {
      client.resource(cluster).update();
    } catch (KubernetesClientException e) {
      if (e.getCode() != 404) {
        throw e;
      }
    }
  }

  private Set<String> pinnedByOthers(Cluster self) {
    Set<String> out = new HashSet<>();
    for (Cluster c : allClusters.get()) {
      if (!c.getMetadata().getUid().equals(self.getMetadata().getUid()) && c.getMetadata().getDeletionTimestamp() == null
          && c.getStatus() != null && c.getStatus().pinnedClosures() != null) {
        out.addAll(c.getStatus().pinnedClosures());
      }
    }
    return out;
  }

  private void act(ObjectKey key, Cluster cluster, RolloutAction a) throws IOException {
    String ns = cluster.getMetadata().getNamespace();
    String name = cluster.getMetadata().getName();
    switch (a) {
      case RolloutAction.CreateVm c -> {
        VM vm = new VM();
        vm.setMetadata(new ObjectMetaBuilder().withGenerateName(Revisions.vmPrefix(name, c.template(), c.hash())).withNamespace(ns)
            .withLabels(labels(name, c.template(), c.hash())).withOwnerReferences(owner(cluster)).build());
        vm.setSpec(c.spec());
        VM created = client.resource(vm).create();
        ownWrites.created(key, created.getMetadata().getName());
        log.info("cluster {}/{}: created VM {} of revision {}", ns, name, created.getMetadata().getName(), c.hash());
      }
      case RolloutAction.DeleteVm d -> {
        client.resources(VM.class).inNamespace(ns).withName(d.name()).delete();
        ownWrites.deleted(key, d.name());
        log.info("cluster {}/{}: deleting VM {}: {}", ns, name, d.name(), d.why());
        events.normal(cluster, "ScalingDown", "deleting VM " + d.name() + ": " + d.why());
      }
      case RolloutAction.CreateRevision r -> {
        createRevision(cluster, r);
        ownWrites.revisionCreated(key, Revisions.revisionName(name, r.template(), r.hash()));
      }
      case RolloutAction.MarkRevision m -> {
        try {
          client.resources(ControllerRevision.class).inNamespace(ns).withName(m.name()).edit(cr -> {
            Map<String, String> ann = cr.getMetadata().getAnnotations() == null ? new LinkedHashMap<>()
                : new LinkedHashMap<>(cr.getMetadata().getAnnotations());
            ann.put(Revisions.OUTCOME_ANNOTATION, m.outcome());
            ann.put(Revisions.FAILURE_ANNOTATION, m.outcome().equals("Failed") ? m.message() : "");
            ann.values().removeIf(String::isEmpty);
            cr.getMetadata().setAnnotations(ann);
            return cr;
          });
          ownWrites.revisionMarked(key, m.name(), m.outcome());
        } catch (KubernetesClientException e) {
          if (e.getCode() != 404) {
            throw e;
          }
        }
      }
      case RolloutAction.DeleteRevision r -> {
        client.resources(ControllerRevision.class).inNamespace(ns).withName(r.name()).delete();
        ownWrites.revisionDeleted(key, r.name());
      }
      case RolloutAction.Pin p -> {
        if (pins.isPresent()) {
          pins.get().pin(p.closure());
        }
      }
      case RolloutAction.Unpin p -> {
        if (pins.isPresent()) {
          pins.get().unpin(p.closure());
        }
      }
    }
  }

  private void createRevision(Cluster cluster, RolloutAction.CreateRevision r) {
    String ns = cluster.getMetadata().getNamespace();
    String name = cluster.getMetadata().getName();
    ControllerRevision cr = new ControllerRevision();
    Map<String, String> annotations = new LinkedHashMap<>();
    String commit = cluster.getMetadata().getAnnotations() == null ? null : cluster.getMetadata().getAnnotations().get(Cluster.GIT_COMMIT);
    if (commit != null) {
      annotations.put(Cluster.GIT_COMMIT, commit);
    }
    cr.setMetadata(new ObjectMetaBuilder().withName(Revisions.revisionName(name, r.template(), r.hash())).withNamespace(ns)
        .withLabels(labels(name, r.template(), r.hash())).withAnnotations(annotations).withOwnerReferences(owner(cluster)).build());
    cr.setRevision(r.number());
    Map<String, Object> data = new LinkedHashMap<>();
    int replicas = cluster.getSpec().templates().stream().filter(t -> t.name().equals(r.template())).findFirst()
        .map(ClusterSpec.Template::replicas).orElse(1);
    data.put("template", JSON.convertValue(new ClusterSpec.Template(r.template(), replicas, r.spec()), Map.class));
    if (r.spec().boot() != null && r.spec().boot().closure() != null) {
      data.put("closure", r.spec().boot().closure());
    }
    cr.setData(data);
    try {
      client.resource(cr).create();
    } catch (KubernetesClientException e) {
      if (e.getCode() != 409) {
        throw e; // 409: another leader, or an earlier pass, recorded it already
      }
    }
  }

  static Map<String, String> labels(String cluster, String template, String hash) {
    // one order in every process, so what is stored (and printed) does not change with the JVM's hash seed
    return new java.util.TreeMap<>(Map.of(Revisions.CLUSTER_LABEL, cluster, Revisions.TEMPLATE_LABEL, template, Revisions.REVISION_LABEL, hash));
  }

  static OwnerReference owner(Cluster c) {
    return new OwnerReferenceBuilder().withApiVersion(c.getApiVersion()).withKind(c.getKind()).withName(c.getMetadata().getName())
        .withUid(c.getMetadata().getUid()).withController(true).withBlockOwnerDeletion(true).build();
  }

  private static boolean ownedBy(List<OwnerReference> refs, String uid) {
    return refs != null && refs.stream().anyMatch(r -> uid.equals(r.getUid()));
  }

  /** A ControllerRevision as the decision reads it. */
  static Revision revision(ControllerRevision cr) {
    Map<String, String> labels = cr.getMetadata().getLabels() == null ? Map.of() : cr.getMetadata().getLabels();
    Map<String, String> ann = cr.getMetadata().getAnnotations() == null ? Map.of() : cr.getMetadata().getAnnotations();
    ClusterSpec.Template template = Revisions.template(cr);
    VMSpec spec = template == null ? null : template.spec();
    Instant created = ClusterRollout.time(cr.getMetadata().getCreationTimestamp(), Instant.EPOCH);
    return new Revision(cr.getMetadata().getName(), labels.get(Revisions.TEMPLATE_LABEL), labels.get(Revisions.REVISION_LABEL),
        cr.getRevision() == null ? 0 : cr.getRevision(), spec, ann.get(Revisions.OUTCOME_ANNOTATION), created);
  }
}
