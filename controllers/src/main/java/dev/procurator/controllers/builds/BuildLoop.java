package dev.procurator.controllers.builds;

import dev.procurator.api.runtime.Conditions;
import dev.procurator.api.runtime.Decision;
import dev.procurator.api.runtime.EventSpec;
import dev.procurator.api.runtime.Finalizers;
import dev.procurator.api.runtime.Loop;
import dev.procurator.api.runtime.NotFound;
import dev.procurator.api.runtime.ObjectKey;
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
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Function;
import java.util.function.Supplier;

/**
 * The build controller: queues Builds onto builder nodes, sends a Build whose builder died back to
 * the queue, and deploys a successful Build's output to its Cluster template. The builders on the
 * nodes move a placed Build through {@code Evaluating}, {@code Building} and {@code Pushing}.
 * {@link #decide(Build, BuildQueue.Decision, Cluster, List, Instant)} is the whole decision, from
 * {@link BuildQueue}'s placement and the Cluster to deploy to, both read from caches.
 *
 * <p>A deploy takes two passes: the first {@linkplain SetClosure sets} the template's closure;
 * once the Cluster's cache shows it, the next says {@code Deployed}.
 */
public final class BuildLoop implements Loop<Build, BuildStatus, BuildLoop.Action> {
  /** A deploy whose Cluster or template is missing is tried again this often (GitOps may not have applied it yet). */
  static final Duration DEPLOY_RETRY = Duration.ofSeconds(15);

  /** What the build controller does besides writing status. */
  public sealed interface Action {}

  /** The Build was placed: count it against its builder until the cache shows the placement. */
  public record Assume() implements Action {}

  /**
   * Set {@code template}'s {@code boot.closure} in {@code cluster} to {@code closure}, and the
   * Cluster's git-commit annotation to {@code commit} (when not null).
   */
  public record SetClosure(String cluster, String template, String closure, String commit) implements Action {}

  private final KubernetesClient client;
  private final Clock clock;
  private final Supplier<List<Node>> nodes;
  private final Supplier<List<Build>> builds;
  private final Function<ObjectKey, Cluster> clusters;
  /** Placements made here that the cache may not show yet: they count against their builder meanwhile. */
  private final Map<ObjectKey, Build> assumed = new ConcurrentHashMap<>();

  public BuildLoop(KubernetesClient client, Clock clock, Supplier<List<Node>> nodes, Supplier<List<Build>> builds,
      Function<ObjectKey, Cluster> clusters) {
    this.client = client;
    this.clock = clock;
    this.nodes = nodes;
    this.builds = builds;
    this.clusters = clusters;
  }

  @Override
  public Decision<BuildStatus, Action> decide(Build build) {
    if (Finalizers.deleting(build)) {
      return Decision.none();
    }
    Instant now = clock.instant();
    List<Build> all = known();
    BuildQueue.Decision q = BuildQueue.decide(build, nodes.get(), all, now);
    Cluster cluster = build.getSpec().deploy() == null ? null
        : clusters.apply(ObjectKey.of(build.getMetadata().getNamespace(), build.getSpec().deploy().cluster()));
    return decide(build, q, cluster, all, now);
  }

  /** The status, deploy and Events that follow from the queue's decision {@code q}. */
  static Decision<BuildStatus, Action> decide(Build build, BuildQueue.Decision q, Cluster cluster, List<Build> all, Instant now) {
    BuildStatus before = build.getStatus();
    BuildStatus next = q.status();
    Decision<BuildStatus, Action> d = Decision.<BuildStatus, Action>none().requeueAfter(q.requeue());
    if (q.deploy()) {
      d = deploy(build, next, cluster, all, now);
      next = d.status();
      if (next.deployedTo() == null && !"Superseded".equals(Conditions.reason(next.conditions(), BuildAgreements.DEPLOYED))) {
        d = d.requeueAfter(DEPLOY_RETRY);
      }
      d = d.requeueAfter(q.requeue());
    }
    d = d.withStatus(next);
    BuildPhase was = before == null ? null : before.phase();
    if (next.phase() == BuildPhase.SCHEDULED && was != BuildPhase.SCHEDULED) {
      d = d.act(new Assume()).event(EventSpec.normal("Scheduled", "placed on builder " + next.nodeName() + " (attempt " + next.attemptNumber() + ")"));
    } else if (next.phase() == BuildPhase.PENDING && was != null && was.onBuilder()) {
      d = d.event(EventSpec.warning("BuilderLost", next.message()));
    } else if (next.deployedTo() != null && (before == null || before.deployedTo() == null)) {
      d = d.event(EventSpec.normal("Deployed", "set " + next.deployedTo() + " to " + deployedClosure(build.getSpec(), next)));
    }
    return d;
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
   * The Cluster template's {@code boot.closure} and the Cluster's git-commit annotation set to the
   * Build's, unless a newer Build for the same template succeeded too: {@code Deployed} once the
   * Cluster shows them, a {@link SetClosure} until then.
   */
  static Decision<BuildStatus, Action> deploy(Build build, BuildStatus status, Cluster cluster, List<Build> all, Instant now) {
    BuildSpec.Deploy target = build.getSpec().deploy();
    String where = target.cluster() + "/" + target.template();
    String closure = deployedClosure(build.getSpec(), status);
    if (closure == null) {
      return Decision.status(deployed(status, Conditions.FALSE, "NoOutput", "the Build has no output for the attribute to deploy", now));
    }
    for (Build other : all) {
      if (other.getSpec().deploy() != null && target.cluster().equals(other.getSpec().deploy().cluster())
          && target.template().equals(other.getSpec().deploy().template())
          && build.getMetadata().getNamespace().equals(other.getMetadata().getNamespace())
          && other.getStatus() != null && other.getStatus().phase() == BuildPhase.SUCCEEDED
          && newer(other, build)) {
        // the newest successful Build of a template deploys it: an older one never writes over it,
        // also while the newer one's deploy is still on its way
        return Decision.status(deployed(status, Conditions.FALSE, "Superseded", "a newer Build (" + other.getMetadata().getName()
            + ") deploys " + where, now));
      }
    }
    if (cluster == null) {
      return Decision.status(deployed(status, Conditions.FALSE, "ClusterNotFound", "Cluster " + target.cluster() + " does not exist (yet)", now));
    }
    ClusterSpec.Template t = cluster.getSpec().templates().stream().filter(x -> x.name().equals(target.template())).findFirst().orElse(null);
    if (t == null) {
      return Decision.status(deployed(status, Conditions.FALSE, "TemplateNotFound", "Cluster " + target.cluster() + " has no template "
          + target.template(), now));
    }
    String commit = build.getSpec().source() == null ? null : build.getSpec().source().commit();
    boolean sameClosure = t.spec().boot() != null && closure.equals(t.spec().boot().closure());
    boolean sameCommit = commit == null || commit.equals(annotations(cluster).get(Cluster.GIT_COMMIT));
    if (!sameClosure || !sameCommit) {
      return Decision.<BuildStatus, Action>status(status).act(new SetClosure(target.cluster(), target.template(), closure, commit));
    }
    return Decision.status(deployed(status, Conditions.TRUE, "Deployed", "set " + where + " to " + closure, now).withDeployedTo(where));
  }

  @Override
  public Build act(Build build, Action action) throws Exception {
    switch (action) {
      case Assume a -> assumed.put(ObjectKey.of(build), build);
      case SetClosure s -> setClosure(build.getMetadata().getNamespace(), s);
    }
    return build;
  }

  /** Writes the closure and commit into the Cluster as read now; a conflict requeues the Build. */
  private void setClosure(String namespace, SetClosure s) throws Exception {
    Cluster cluster = NotFound.orNull(() -> client.resources(Cluster.class).inNamespace(namespace).withName(s.cluster()).get());
    if (cluster == null) {
      return; // gone since the decision: the next pass says so
    }
    List<ClusterSpec.Template> templates = new ArrayList<>(cluster.getSpec().templates());
    templates.replaceAll(t -> {
      if (!t.name().equals(s.template())) {
        return t;
      }
      VMSpec spec = t.spec();
      String cmdline = spec.boot() == null || spec.boot().closure() == null ? null : spec.boot().cmdline();
      return t.withSpec(spec.withBoot(new VMSpec.Boot(s.closure(), null, null, cmdline)));
    });
    cluster.setSpec(cluster.getSpec().withTemplates(templates));
    if (s.commit() != null) {
      var a = new HashMap<>(annotations(cluster));
      a.put(Cluster.GIT_COMMIT, s.commit());
      cluster.getMetadata().setAnnotations(a);
    }
    client.resource(cluster).update(); // carries the resourceVersion read: a conflict requeues
  }

  @Override
  public void forget(ObjectKey key) {
    assumed.remove(key);
  }

  /** Every Build as the cache shows it, with this controller's placements the cache does not show yet. */
  private List<Build> known() {
    Map<ObjectKey, Build> byKey = new LinkedHashMap<>();
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

  private static Map<String, String> annotations(Cluster c) {
    return c.getMetadata().getAnnotations() == null ? Map.of() : c.getMetadata().getAnnotations();
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
