package dev.procurator.controllers.clusters;

import dev.procurator.api.runtime.Conditions;
import dev.procurator.api.runtime.EventSpec;
import dev.procurator.api.v1alpha1.Cluster;
import dev.procurator.api.v1alpha1.ClusterSpec;
import dev.procurator.api.v1alpha1.ClusterStatus;
import dev.procurator.api.v1alpha1.Revisions;
import dev.procurator.api.v1alpha1.VM;
import io.fabric8.kubernetes.api.model.Condition;
import java.time.Duration;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.function.Function;
import java.util.stream.Collectors;

/**
 * The Cluster controller's decision, as a pure function of the Cluster, its VMs and its revision
 * history at one moment: which VMs to create and delete, which revisions to record, mark or
 * drop, which closures to pin, the status to write and when to look again. No I/O;
 * {@code ClusterRolloutTest} drives it.
 *
 * <p>Each template rolls out on its own ({@link TemplateRollout}). Its <em>target</em> is the
 * revision of its spec, or, once that revision failed in this generation, the last revision that
 * was fully available (never a half-promoted one). VMs of the target are <em>new</em>, the
 * others <em>old</em>; VMs are never edited into a revision, only created and deleted, as the
 * Cluster's {@link RolloutStrategy} says: {@link RollingUpdate}, {@link BlueGreen} or
 * {@link Canary}. A revision under trial fails when one of its VMs fails or restarts, an analysis
 * fails, or the rollout makes no progress for {@code progressDeadlineSeconds}. A VM is available
 * once it has been Running and Healthy (Booted, without health checks) for
 * {@code minReadySeconds} ({@link Health}).
 */
public final class ClusterRollout {
  private ClusterRollout() {}

  /**
   * What to do for one Cluster.
   *
   * @param status the status to write, or null when it is unchanged
   * @param requeueAfter when to look again even if nothing changes, or null
   */
  public record Plan(List<RolloutAction> actions, ClusterStatus status, Duration requeueAfter, List<EventSpec> events) {
    public Plan {
      actions = List.copyOf(actions);
      events = List.copyOf(events);
    }
  }

  /**
   * Decides for {@code cluster}.
   *
   * @param vms the VMs the Cluster owns
   * @param history the ControllerRevisions the Cluster owns
   * @param pinnedElsewhere closures other Clusters keep pinned (never unpinned here), or null
   *     when there is no binary cache to pin in
   */
  public static Plan decide(Cluster cluster, List<VM> vms, List<Revision> history, Set<String> pinnedElsewhere, Instant now) {
    TemplateRollout rollout = new TemplateRollout(cluster, vms, history, now);
    List<RolloutAction> actions = new ArrayList<>();
    List<EventSpec> events = new ArrayList<>();
    List<TemplateRollout.Outcome> outcomes = new ArrayList<>();
    Set<String> closures = new LinkedHashSet<>();
    Instant wakeAt = null;
    Set<String> names = new LinkedHashSet<>();
    for (ClusterSpec.Template t : cluster.getSpec().templates()) {
      names.add(t.name());
      TemplateRollout.Outcome o = rollout.decide(t);
      outcomes.add(o);
      actions.addAll(o.actions());
      events.addAll(o.events());
      closures.addAll(o.closures());
      wakeAt = TemplateRollout.earliest(wakeAt, o.wakeAt());
    }
    // VMs and revisions of templates that are no longer in the spec
    for (VM vm : vms) {
      String t = Situation.label(vm, Revisions.TEMPLATE_LABEL);
      if (!names.contains(t) && vm.getMetadata().getDeletionTimestamp() == null) {
        actions.add(new RolloutAction.DeleteVm(vm.getMetadata().getName(), "template " + t + " is no longer in the spec"));
      }
    }
    for (Revision r : history) {
      if (!names.contains(r.template())) {
        actions.add(new RolloutAction.DeleteRevision(r.name()));
      }
    }
    ClusterStatus old = cluster.getStatus();
    if (pinnedElsewhere == null) {
      closures.clear(); // no binary cache to pin in
    } else {
      actions.addAll(pins(old, closures, pinnedElsewhere));
    }
    ClusterStatus next = status(cluster, outcomes, closures, now);
    Duration requeue = wakeAt == null ? null : Duration.between(now, wakeAt).isNegative() ? Duration.ZERO : Duration.between(now, wakeAt);
    return new Plan(actions, Objects.equals(next, old) ? null : next, requeue, events);
  }

  /** Pins what is wanted and was not pinned; unpins what was pinned and no one wants any more. */
  private static List<RolloutAction> pins(ClusterStatus old, Set<String> wanted, Set<String> pinnedElsewhere) {
    List<RolloutAction> actions = new ArrayList<>();
    Set<String> had = old == null || old.pinnedClosures() == null ? Set.of() : Set.copyOf(old.pinnedClosures());
    for (String c : wanted) {
      if (!had.contains(c)) {
        actions.add(new RolloutAction.Pin(c));
      }
    }
    for (String c : had) {
      if (!wanted.contains(c) && !pinnedElsewhere.contains(c)) {
        actions.add(new RolloutAction.Unpin(c));
      }
    }
    return actions;
  }

  private static ClusterStatus status(Cluster cluster, List<TemplateRollout.Outcome> outcomes, Set<String> closures, Instant now) {
    List<ClusterStatus.TemplateStatus> templates = outcomes.stream().map(TemplateRollout.Outcome::status).toList();
    int replicas = 0;
    int ready = 0;
    int updated = 0;
    int available = 0;
    for (ClusterStatus.TemplateStatus ts : templates) {
      replicas += ts.replicas();
      ready += ts.readyReplicas();
      updated += ts.updatedReplicas();
      available += ts.availableReplicas();
    }
    ClusterStatus old = cluster.getStatus();
    boolean allAvailable = outcomes.stream().allMatch(TemplateRollout.Outcome::available);
    TemplateRollout.Progress p = outcomes.stream().map(TemplateRollout.Outcome::progress)
        .min(Comparator.comparingInt(TemplateRollout.Progress::rank))
        .orElse(new TemplateRollout.Progress(9, Conditions.TRUE, "RolloutComplete", "no templates"));
    List<Condition> conditions = Conditions.setAll(old == null ? null : old.conditions(),
        allAvailable ? Conditions.of("Available", Conditions.TRUE, "MinimumReplicasAvailable", "every template has the VMs it needs available", now)
            : Conditions.of("Available", Conditions.FALSE, "MinimumReplicasUnavailable", "a template has fewer available VMs than it needs", now),
        Conditions.of("Progressing", p.status(), p.reason(), p.message(), now));
    return new ClusterStatus(generation(cluster), joined(templates, ClusterStatus.TemplateStatus::currentRevision),
        joined(templates, ClusterStatus.TemplateStatus::updateRevision), replicas, ready, updated, available, templates, conditions,
        closures.isEmpty() ? null : closures.stream().sorted().toList());
  }

  /** One template's hash as it is; several as template=hash pairs. */
  private static String joined(List<ClusterStatus.TemplateStatus> templates, Function<ClusterStatus.TemplateStatus, String> f) {
    if (templates.size() == 1) {
      return f.apply(templates.getFirst());
    }
    String s = templates.stream().filter(ts -> f.apply(ts) != null).map(ts -> ts.name() + "=" + f.apply(ts)).collect(Collectors.joining(","));
    return s.isEmpty() ? null : s;
  }

  /** The Cluster's generation; 1 before the API server set one. */
  static long generation(Cluster cluster) {
    return cluster.getMetadata().getGeneration() == null ? 1 : cluster.getMetadata().getGeneration();
  }

  /** A timestamp as the API writes it, or {@code otherwise} when there is none or it does not parse. */
  static Instant time(String t, Instant otherwise) {
    try {
      return t == null ? otherwise : Instant.parse(t);
    } catch (DateTimeParseException e) {
      return otherwise;
    }
  }
}
