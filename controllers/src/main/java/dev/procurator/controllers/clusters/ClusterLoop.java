package dev.procurator.controllers.clusters;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.procurator.api.runtime.EventRecorder;
import dev.procurator.api.runtime.EventSpec;
import dev.procurator.api.runtime.ObjectKey;
import dev.procurator.api.runtime.Decision;
import dev.procurator.api.runtime.Finalizers;
import dev.procurator.api.runtime.Loop;
import dev.procurator.api.runtime.NotFound;
import dev.procurator.api.v1alpha1.ClusterStatus;
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
import java.time.Clock;
import java.time.Instant;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.function.Function;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Rolls one Cluster toward its spec, on the loop skeleton: {@link ClusterRollout#decide} chooses
 * from the Cluster, the VMs and the ControllerRevisions it owns, read from the controllers' caches.
 * A cache that does not show this loop's own last writes yet ({@link OwnWrites}, what Kubernetes'
 * ReplicaSet controller calls expectations) is waited for rather than decided from, so a VM created
 * a moment ago is never missed and never made twice: its event wakes the Cluster again. A write
 * whose outcome is unknown drops the expectations, and the caches show what happened.
 */
public final class ClusterLoop implements Loop<Cluster, ClusterStatus, RolloutAction> {
  /** How long a pass waits at most for the caches to show its own writes before it looks again. */
  static final java.time.Duration CACHE_WAIT = java.time.Duration.ofSeconds(2);
  private static final Logger log = LoggerFactory.getLogger(ClusterLoop.class);
  private static final ObjectMapper JSON = new ObjectMapper();
  /** Held by a Cluster that has closures pinned, so that they are unpinned before it goes. */
  public static final String PINS_FINALIZER = "procurator.dev/cluster-pins";

  private final KubernetesClient client;
  private final Clock clock;
  private final EventRecorder events;
  private final Optional<CachePins> pins;
  private final Supplier<List<Cluster>> allClusters;
  private final Caches caches;
  private final Supplier<Optional<ClosureNameTable.Snapshot>> closureNames;
  private final OwnWrites ownWrites = new OwnWrites();
  /** How soon a Cluster waiting for a closure name looks again (the table's change wakes it sooner). */
  static final java.time.Duration NAME_RETRY = java.time.Duration.ofSeconds(10);

  /**
   * The controllers' caches, each giving what it holds of one Cluster, or empty while it is not
   * filled yet: the VMs labelled with its name, and the ControllerRevisions labelled with its name.
   */
  public record Caches(Function<ObjectKey, Optional<List<VM>>> vms, Function<ObjectKey, Optional<List<ControllerRevision>>> revisions) {}

  /**
   * @param pins the binary cache to pin closures in, if there is one
   * @param allClusters every Cluster (an informer's cache), to see which closures others still pin
   * @param caches where a pass reads the Cluster's VMs and revisions
   * @param closureNames the binary cache's closure names as last read, or empty without a cache
   */
  public ClusterLoop(KubernetesClient client, Clock clock, EventRecorder events, Optional<CachePins> pins,
      Supplier<List<Cluster>> allClusters, Caches caches, Supplier<Optional<ClosureNameTable.Snapshot>> closureNames) {
    this.client = client;
    this.clock = clock;
    this.events = events;
    this.pins = pins;
    this.allClusters = allClusters;
    this.caches = caches;
    this.closureNames = closureNames;
  }

  @Override
  public Decision<ClusterStatus, RolloutAction> decide(Cluster cluster) {
    ObjectKey key = ObjectKey.of(cluster);
    if (Finalizers.deleting(cluster)) {
      return release(cluster);
    }
    Optional<List<VM>> cachedVms = caches.vms().apply(key);
    Optional<List<ControllerRevision>> cachedHistory = caches.revisions().apply(key);
    if (cachedVms.isEmpty() || cachedHistory.isEmpty() || !ownWrites.shownBy(key, cachedVms.get())
        || !ownWrites.revisionsShownBy(key, cachedHistory.get())) {
      return Decision.<ClusterStatus, RolloutAction>none().requeueAfter(CACHE_WAIT); // the caches' events wake it sooner
    }
    String uid = cluster.getMetadata().getUid();
    List<VM> vms = cachedVms.get().stream().filter(v -> ownedBy(v.getMetadata().getOwnerReferences(), uid)).toList();
    List<Revision> history = cachedHistory.get().stream()
        .filter(r -> ownedBy(r.getMetadata().getOwnerReferences(), uid)).map(ClusterLoop::revision).toList();
    NamedClosures.Outcome named = NamedClosures.resolve(cluster, closureNames.get(), currentClosures(cluster, history));
    if (named.notYetRead()) {
      return Decision.<ClusterStatus, RolloutAction>none().requeueAfter(CACHE_WAIT);
    }
    if (named.problem() != null) {
      return waitingForNames(cluster, named.problem());
    }
    Set<String> elsewhere = pins.isPresent() ? pinnedByOthers(cluster) : null;
    ClusterRollout.Plan plan = ClusterRollout.decide(named.cluster(), vms, history, elsewhere, clock.instant());
    Decision<ClusterStatus, RolloutAction> d = new Decision<>(plan.status(), plan.actions(), plan.events(), plan.requeueAfter(), false);
    if (named.warning() != null) {
      // it runs on what its current revision booted, and says so until the name can be resolved again
      d = d.event(EventSpec.warning(NAMES_UNRESOLVED, named.warning()));
      d = d.requeueAfter(d.requeueAfter() == null || d.requeueAfter().compareTo(NAME_RETRY) > 0 ? NAME_RETRY : d.requeueAfter());
    }
    return d;
  }

  @Override
  public Cluster act(Cluster cluster, RolloutAction action) throws IOException {
    ObjectKey key = ObjectKey.of(cluster);
    try {
      act(key, cluster, action);
    } catch (RuntimeException | IOException e) {
      ownWrites.forget(key); // it may or may not have happened: the caches will show which
      throw e;
    }
    return cluster;
  }

  @Override
  public void forget(ObjectKey key) {
    ownWrites.forget(key);
  }

  /** The store path each template's current revision boots (the last fully available one, else the one being rolled out). */
  static Map<String, String> currentClosures(Cluster cluster, List<Revision> history) {
    Map<String, String> out = new java.util.HashMap<>();
    ClusterStatus st = cluster.getStatus();
    if (st == null || st.templates() == null) {
      return out;
    }
    for (ClusterStatus.TemplateStatus ts : st.templates()) {
      for (String hash : java.util.Arrays.asList(ts.currentRevision(), ts.updateRevision())) {
        Optional<String> closure = history.stream().filter(r -> ts.name().equals(r.template()) && r.hash().equals(hash))
            .map(Revision::closure).filter(java.util.Objects::nonNull).findFirst();
        if (hash != null && closure.isPresent()) {
          out.put(ts.name(), closure.get());
          break;
        }
      }
    }
    return out;
  }

  /**
   * A Cluster whose closure names cannot be resolved changes nothing (its VMs run on as they are)
   * and says why in {@code Progressing}, with a Warning when that starts.
   */
  private Decision<ClusterStatus, RolloutAction> waitingForNames(Cluster cluster, String problem) {
    ClusterStatus old = cluster.getStatus();
    io.fabric8.kubernetes.api.model.Condition was = old == null ? null
        : dev.procurator.api.runtime.Conditions.find(old.conditions(), "Progressing").orElse(null);
    boolean already = was != null && NAMES_UNRESOLVED.equals(was.getReason()) && problem.equals(was.getMessage());
    Decision<ClusterStatus, RolloutAction> d = Decision.<ClusterStatus, RolloutAction>none().requeueAfter(NAME_RETRY);
    if (already) {
      return d;
    }
    List<io.fabric8.kubernetes.api.model.Condition> conditions = dev.procurator.api.runtime.Conditions.set(
        old == null ? null : old.conditions(),
        dev.procurator.api.runtime.Conditions.of("Progressing", dev.procurator.api.runtime.Conditions.FALSE, NAMES_UNRESOLVED,
            problem, clock.instant()));
    ClusterStatus next = old == null
        ? new ClusterStatus(ClusterRollout.generation(cluster), null, null, null, null, null, null, null, conditions, null)
        : new ClusterStatus(old.observedGeneration(), old.currentRevision(), old.updateRevision(), old.replicas(), old.readyReplicas(),
            old.updatedReplicas(), old.availableReplicas(), old.templates(), conditions, old.pinnedClosures());
    return d.withStatus(next).event(EventSpec.warning(NAMES_UNRESOLVED, problem));
  }

  /** The Progressing reason of a Cluster that waits for a closure name. */
  public static final String NAMES_UNRESOLVED = "ClosureNameUnresolved";

  /** A Cluster being deleted: its closures are unpinned (unless another Cluster keeps them), then it may go. */
  private Decision<ClusterStatus, RolloutAction> release(Cluster cluster) {
    Decision<ClusterStatus, RolloutAction> d = Decision.none();
    if (pins.isPresent() && cluster.getStatus() != null && cluster.getStatus().pinnedClosures() != null) {
      Set<String> others = pinnedByOthers(cluster);
      for (String closure : cluster.getStatus().pinnedClosures()) {
        if (!others.contains(closure)) {
          d = d.act(new RolloutAction.Unpin(closure));
        }
      }
    }
    return d.release();
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
        VMSpec.Boot boot = r.spec().boot();
        if (boot != null && boot.closureName() != null && boot.closure() != null) {
          // what a name stood for changes what runs without a write to the Cluster: say so where its history is read
          events.normal(cluster, "ClosureNameResolved", "template " + r.template() + ": revision " + r.hash() + " boots closure name "
              + boot.closureName() + " as " + boot.closure());
        }
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
