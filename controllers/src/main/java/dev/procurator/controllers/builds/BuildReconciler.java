package dev.procurator.controllers.builds;

import dev.procurator.api.runtime.Conditions;
import dev.procurator.api.runtime.EventRecorder;
import dev.procurator.api.runtime.ObjectKey;
import dev.procurator.api.runtime.Reconciler;
import dev.procurator.api.runtime.Result;
import dev.procurator.api.runtime.StatusWriter;
import dev.procurator.api.v1alpha1.Build;
import dev.procurator.api.v1alpha1.BuildAgreements;
import dev.procurator.api.v1alpha1.BuildPhase;
import dev.procurator.api.v1alpha1.BuildSpec;
import dev.procurator.api.v1alpha1.BuildStatus;
import dev.procurator.api.v1alpha1.Cluster;
import dev.procurator.api.v1alpha1.ClusterSpec;
import dev.procurator.api.v1alpha1.Node;
import dev.procurator.api.v1alpha1.VMSpec;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.function.Supplier;

/**
 * The build controller: queues Builds onto builder nodes, sends a Build whose builder died back to
 * the queue, and deploys a successful Build's output to its Cluster template. The builders on the
 * nodes move a placed Build through {@code Evaluating}, {@code Building} and {@code Pushing}.
 * Decisions are {@link BuildQueue}'s.
 */
public final class BuildReconciler implements Reconciler<ObjectKey> {
  /** A deploy whose Cluster or template is missing is tried again this often (GitOps may not have applied it yet). */
  static final Duration DEPLOY_RETRY = Duration.ofSeconds(15);

  private final KubernetesClient client;
  private final Clock clock;
  private final Supplier<List<Node>> nodes;
  private final Supplier<List<Build>> builds;
  private final EventRecorder events;
  /** Placements made here that the cache may not show yet: they count against their builder meanwhile. */
  private final java.util.Map<ObjectKey, Build> assumed = new java.util.concurrent.ConcurrentHashMap<>();

  public BuildReconciler(KubernetesClient client, Clock clock, Supplier<List<Node>> nodes, Supplier<List<Build>> builds, EventRecorder events) {
    this.client = client;
    this.clock = clock;
    this.nodes = nodes;
    this.builds = builds;
    this.events = events;
  }

  @Override
  public Result reconcile(ObjectKey key) {
    Build build = client.resources(Build.class).inNamespace(key.namespace()).withName(key.name()).get();
    if (build == null || build.getMetadata().getDeletionTimestamp() != null) {
      return Result.done();
    }
    Instant now = clock.instant();
    BuildQueue.Decision d = BuildQueue.decide(build, nodes.get(), known(), now);
    BuildStatus before = build.getStatus();
    BuildStatus next = d.status();
    if (d.deploy()) {
      next = deploy(build, next, now);
    }
    Build written = StatusWriter.write(client, build, next);
    if (written != build) {
      announce(written, before, next);
      if (next.phase() == BuildPhase.SCHEDULED) {
        assumed.put(key, written);
      }
    }
    if (d.deploy() && next.deployedTo() == null && !"Superseded".equals(Conditions.reason(next.conditions(), BuildAgreements.DEPLOYED))) {
      return Result.requeueAfter(DEPLOY_RETRY);
    }
    return d.requeue() == null ? Result.done() : Result.requeueAfter(d.requeue());
  }

  /** Every Build as the cache shows it, with this controller's placements the cache does not show yet. */
  private List<Build> known() {
    java.util.Map<ObjectKey, Build> byKey = new java.util.LinkedHashMap<>();
    for (Build b : builds.get()) {
      byKey.put(ObjectKey.of(b), b);
    }
    assumed.entrySet().removeIf(e -> {
      Build seen = byKey.get(e.getKey());
      return seen == null || seen.getStatus() != null && seen.getStatus().nodeName() != null;
    });
    byKey.putAll(assumed);
    return new ArrayList<>(byKey.values());
  }

  private void announce(Build b, BuildStatus before, BuildStatus next) {
    BuildPhase was = before == null ? null : before.phase();
    if (next.phase() == BuildPhase.SCHEDULED && was != BuildPhase.SCHEDULED) {
      events.normal(b, "Scheduled", "placed on builder " + next.nodeName() + " (attempt " + next.attemptNumber() + ")");
    } else if (next.phase() == BuildPhase.PENDING && was != null && was.onBuilder()) {
      events.warning(b, "BuilderLost", next.message());
    } else if (next.deployedTo() != null && (before == null || before.deployedTo() == null)) {
      events.normal(b, "Deployed", "set " + next.deployedTo() + " to " + deployedClosure(b.getSpec(), next));
    }
  }

  /** The output that {@code spec.deploy} takes: its {@code attribute}, or the only one built. */
  static String deployedClosure(BuildSpec spec, BuildStatus status) {
    if (status.outputs() == null) {
      return null;
    }
    String attr = spec.deploy().attribute() != null ? spec.deploy().attribute() : spec.attributes().getFirst();
    return status.outputs().get(attr);
  }

  /**
   * Sets the Cluster template's {@code boot.closure} and the Cluster's git-commit annotation, unless
   * a newer Build for the same template deployed already. A write conflict goes back to the queue.
   */
  private BuildStatus deploy(Build build, BuildStatus status, Instant now) {
    BuildSpec.Deploy target = build.getSpec().deploy();
    String where = target.cluster() + "/" + target.template();
    String closure = deployedClosure(build.getSpec(), status);
    if (closure == null) {
      return deployed(status, Conditions.FALSE, "NoOutput", "the Build has no output for the attribute to deploy", now);
    }
    for (Build other : builds.get()) {
      if (other.getSpec().deploy() != null && target.cluster().equals(other.getSpec().deploy().cluster())
          && target.template().equals(other.getSpec().deploy().template())
          && build.getMetadata().getNamespace().equals(other.getMetadata().getNamespace())
          && other.getStatus() != null && other.getStatus().deployedTo() != null
          && newer(other, build)) {
        return deployed(status, Conditions.FALSE, "Superseded", "a newer Build (" + other.getMetadata().getName() + ") deployed " + where
            + " already", now);
      }
    }
    Cluster cluster = client.resources(Cluster.class).inNamespace(build.getMetadata().getNamespace()).withName(target.cluster()).get();
    if (cluster == null) {
      return deployed(status, Conditions.FALSE, "ClusterNotFound", "Cluster " + target.cluster() + " does not exist (yet)", now);
    }
    List<ClusterSpec.Template> templates = new ArrayList<>(cluster.getSpec().templates());
    int at = -1;
    for (int i = 0; i < templates.size(); i++) {
      if (templates.get(i).name().equals(target.template())) {
        at = i;
      }
    }
    if (at < 0) {
      return deployed(status, Conditions.FALSE, "TemplateNotFound", "Cluster " + target.cluster() + " has no template " + target.template(), now);
    }
    ClusterSpec.Template t = templates.get(at);
    VMSpec spec = t.spec();
    String cmdline = spec.boot() == null || spec.boot().closure() == null ? null : spec.boot().cmdline();
    String commit = build.getSpec().source() == null ? null : build.getSpec().source().commit();
    boolean sameClosure = spec.boot() != null && closure.equals(spec.boot().closure());
    boolean sameCommit = commit == null || commit.equals(annotations(cluster).get(Cluster.GIT_COMMIT));
    if (!sameClosure || !sameCommit) {
      templates.set(at, t.withSpec(new VMSpec(spec.cpu(), spec.memory(), spec.hypervisor(), new VMSpec.Boot(closure, null, null, cmdline),
          spec.nodeName(), spec.nodeSelector(), spec.network(), spec.secrets(), spec.healthChecks(), spec.restartPolicy(),
          spec.bootTimeoutSeconds())));
      ClusterSpec cs = cluster.getSpec();
      cluster.setSpec(new ClusterSpec(templates, cs.strategy(), cs.autoRollback(), cs.revisionHistoryLimit(), cs.progressDeadlineSeconds(),
          cs.paused()));
      if (commit != null) {
        var a = new HashMap<>(annotations(cluster));
        a.put(Cluster.GIT_COMMIT, commit);
        cluster.getMetadata().setAnnotations(a);
      }
      client.resource(cluster).update(); // carries the resourceVersion read: a conflict requeues
    }
    return deployed(status, Conditions.TRUE, "Deployed", "set " + where + " to " + closure, now).withDeployedTo(where);
  }

  private static java.util.Map<String, String> annotations(Cluster c) {
    return c.getMetadata().getAnnotations() == null ? java.util.Map.of() : c.getMetadata().getAnnotations();
  }

  private static boolean newer(Build a, Build b) {
    int c = String.valueOf(a.getMetadata().getCreationTimestamp()).compareTo(String.valueOf(b.getMetadata().getCreationTimestamp()));
    return c > 0 || c == 0 && a.getMetadata().getName().compareTo(b.getMetadata().getName()) > 0;
  }

  private static BuildStatus deployed(BuildStatus s, String status, String reason, String message, Instant now) {
    var old = Conditions.find(s.conditions(), BuildAgreements.DEPLOYED);
    if (old.isPresent() && status.equals(old.get().getStatus()) && reason.equals(old.get().getReason()) && message.equals(old.get().getMessage())) {
      return s;
    }
    return s.withConditions(Conditions.set(s.conditions(), Conditions.of(BuildAgreements.DEPLOYED, status, reason, message, now)));
  }
}
