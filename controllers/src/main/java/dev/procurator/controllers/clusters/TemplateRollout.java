package dev.procurator.controllers.clusters;

import dev.procurator.api.runtime.Conditions;
import dev.procurator.api.runtime.EventSpec;
import dev.procurator.api.v1alpha1.Cluster;
import dev.procurator.api.v1alpha1.ClusterSpec;
import dev.procurator.api.v1alpha1.ClusterStatus;
import dev.procurator.api.v1alpha1.Revisions;
import dev.procurator.api.v1alpha1.VM;
import dev.procurator.api.v1alpha1.VMPhase;
import dev.procurator.api.v1alpha1.VMSpec;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;

/**
 * What every strategy shares in one template's rollout: which revision is the target (the
 * template's own, or the current one after the template's failed), when the revision under
 * trial fails (a new VM fails or restarts, or no progress for {@code progressDeadlineSeconds}),
 * when the target becomes current, the revision history, and the template's status. Which VMs to
 * create and delete is the {@link RolloutStrategy}'s. Built once per pass from one Cluster; holds
 * nothing that changes.
 */
final class TemplateRollout {
  static final int DEFAULT_PROGRESS_DEADLINE_SECONDS = 600;
  static final int DEFAULT_REVISION_HISTORY_LIMIT = 10;

  /** A template's contribution to the Progressing condition; the lowest rank wins. */
  record Progress(int rank, String status, String reason, String message) {}

  /** How the revision under trial failed, as the template's status records it. */
  record Failure(String revision, Long generation, String message) {
    static final Failure NONE = new Failure(null, null, null);

    static Failure recorded(ClusterStatus.TemplateStatus was) {
      return was == null ? NONE : new Failure(was.failedRevision(), was.failedGeneration(), was.failureMessage());
    }

    boolean of(String revision, long inGeneration) {
      return revision.equals(this.revision) && Objects.equals(generation, inGeneration);
    }
  }

  /**
   * One template's part of the Cluster's plan.
   *
   * @param available whether the template has the VMs it needs available
   * @param wakeAt when to look again even if nothing changes, or null
   * @param closures the closures its VMs and kept revisions boot
   */
  record Outcome(List<RolloutAction> actions, List<EventSpec> events, ClusterStatus.TemplateStatus status, Progress progress,
      boolean available, Instant wakeAt, Set<String> closures) {}

  private final String cluster;
  private final ClusterSpec spec;
  private final ClusterStatus old;
  private final List<VM> vms;
  private final List<Revision> history;
  private final Instant now;
  private final long generation;
  private final Health health;
  private final RolloutStrategy strategy;
  private final Instant restartedAt;
  private final Instant promoteAsked;

  TemplateRollout(Cluster cluster, List<VM> vms, List<Revision> history, Instant now) {
    this.cluster = cluster.getMetadata().getName();
    this.spec = cluster.getSpec();
    this.old = cluster.getStatus();
    this.vms = List.copyOf(vms);
    this.history = List.copyOf(history);
    this.now = now;
    this.generation = ClusterRollout.generation(cluster);
    this.health = Health.of(spec, now);
    this.strategy = RolloutStrategy.of(spec.strategy());
    Map<String, String> a = cluster.getMetadata().getAnnotations() == null ? Map.of() : cluster.getMetadata().getAnnotations();
    this.restartedAt = ClusterRollout.time(a.get(Cluster.RESTARTED_AT), null);
    this.promoteAsked = ClusterRollout.time(a.get(Cluster.PROMOTE), null);
  }

  Outcome decide(ClusterSpec.Template t) {
    int replicas = t.replicas() == null ? 1 : t.replicas();
    String specHash = Revisions.hash(t.spec());
    ClusterStatus.TemplateStatus was = oldStatus(t.name());
    String good = was == null ? null : was.currentRevision(); // the last fully available revision
    List<Revision> revisions = history.stream().filter(r -> r.template().equals(t.name())).toList();

    // the target: the template's own revision, unless it failed in this generation and there is a good one to go back to
    boolean failed = was != null && Failure.recorded(was).of(specHash, generation);
    VMSpec goodSpec = failed && autoRollback() && good != null && !good.equals(specHash)
        ? revisions.stream().filter(r -> r.hash().equals(good)).findFirst().map(Revision::spec).orElse(null) : null;
    boolean rollBack = goodSpec != null;
    String target = rollBack ? good : specHash;
    VMSpec targetSpec = rollBack ? goodSpec : t.spec();
    boolean hold = failed && !rollBack || Boolean.TRUE.equals(spec.paused());

    List<VM> live = vms.stream().filter(v -> t.name().equals(Situation.label(v, Revisions.TEMPLATE_LABEL))
        && v.getMetadata().getDeletionTimestamp() == null).toList();
    List<VM> fresh = live.stream().filter(v -> target.equals(Situation.label(v, Revisions.REVISION_LABEL))
        && (restartedAt == null || !ClusterRollout.time(v.getMetadata().getCreationTimestamp(), Instant.EPOCH).isBefore(restartedAt))).toList();
    List<VM> stale = live.stream().filter(v -> !fresh.contains(v)).toList();
    Situation s = new Situation(cluster, t.name(), replicas, target, good, rollBack, fresh, stale,
        TemplateState.from(was, target, now), health, promoteAsked);

    String current = good;
    List<RolloutAction> actions = new ArrayList<>();
    List<EventSpec> events = new ArrayList<>();
    Failure failure = Failure.recorded(was);
    Move move = Move.of(0, List.of(), s.state());
    Instant wakeAt = health.nextAvailable(live);
    if (!hold) {
      String why = null;
      if (s.underTrial()) {
        why = failure(s);
        if (strategy.awaitingPromote(s).isEmpty()) {
          wakeAt = earliest(wakeAt, s.state().lastProgress().plus(progressDeadline()));
        }
      }
      if (why == null) {
        move = strategy.next(s);
        why = move.failure();
      }
      events.addAll(move.events());
      wakeAt = earliest(wakeAt, move.wakeAt());
      if (why != null) {
        failure = new Failure(target, generation, why);
        actions.add(new RolloutAction.MarkRevision(revisionName(t, target), "Failed", why));
        boolean back = autoRollback() && current != null;
        events.add(EventSpec.warning(back ? "RolledBack" : "RolloutFailed", "revision " + target + " of template " + t.name() + " failed: "
            + why + (back ? "; rolling back to " + current : "")));
        // the rollback itself starts on the next look, from this status
        wakeAt = earliest(wakeAt, now);
        hold = true;
      }
      if (move.promotion() != null) {
        current = promote(t, s, move.promotion(), actions, events);
      }
    }
    Situation after = s.with(move.state(), current);
    if (!hold) {
      act(t, after, move, targetSpec, actions, events);
      if (complete(after) && strategy.promotesWhenComplete(after)) {
        current = promote(t, after, "is available: " + replicas + " of " + replicas + " VMs", actions, events);
        after = after.with(move.state(), current);
      }
    }

    int ready = (int) live.stream().filter(Health::ready).count();
    int available = (int) health.available(live);
    Optional<String> awaitingPromote = strategy.awaitingPromote(after);
    TemplateState state = moved(was, target, fresh.size(), available, live.size(), move.state().step()) || awaitingPromote.isPresent()
        ? move.state().withLastProgress(now) : move.state();
    ClusterStatus.TemplateStatus status = new ClusterStatus.TemplateStatus(t.name(), live.size(), ready, fresh.size(), available, current,
        specHash, failure.revision(), failure.generation(), failure.message(), state.lastProgress().toString(), state.step(),
        text(state.stepStart()), text(state.promoted()));
    Progress progress = progress(t, after, specHash, failure, awaitingPromote, fresh.size(), available, live.size());

    RevisionHistory kept = RevisionHistory.of(t.name(), revisions, target, targetSpec, current,
        spec.revisionHistoryLimit() == null ? DEFAULT_REVISION_HISTORY_LIMIT : spec.revisionHistoryLimit());
    actions.addAll(kept.actions());
    Set<String> closures = new LinkedHashSet<>(kept.closures());
    RevisionHistory.addClosure(closures, t.spec());
    live.forEach(v -> RevisionHistory.addClosure(closures, v.getSpec()));
    boolean enough = available >= RollingUpdate.Limits.of(spec.strategy(), replicas).minAvailable(replicas);
    return new Outcome(actions, events, status, progress, enough, wakeAt, closures);
  }

  /** Why the revision under trial failed, or null while it has not. */
  private String failure(Situation s) {
    for (VM vm : s.fresh()) {
      var st = vm.getStatus();
      if (st == null) {
        continue;
      }
      if (st.phase() == VMPhase.FAILED) {
        return "VM " + vm.getMetadata().getName() + " failed: " + st.message();
      }
      if (st.restartCount() != null && st.restartCount() > 0) {
        return "VM " + vm.getMetadata().getName() + " restarted (" + st.restartCount() + "): " + st.message();
      }
    }
    // waiting for someone to promote is not a lack of progress
    Duration deadline = progressDeadline();
    if (strategy.awaitingPromote(s).isEmpty() && !now.isBefore(s.state().lastProgress().plus(deadline)) && !complete(s)) {
      return "ProgressDeadlineExceeded: no progress for " + deadline.toSeconds() + " s";
    }
    return null;
  }

  /** Exactly replicas VMs of the target, all available, none other, and the strategy's steps done. */
  private boolean complete(Situation s) {
    return s.allFreshAvailableAlone() && strategy.stepsDone(s);
  }

  /** Creates and deletes what {@code move} asks for. */
  private void act(ClusterSpec.Template t, Situation s, Move move, VMSpec targetSpec, List<RolloutAction> actions, List<EventSpec> events) {
    for (int i = 0; i < move.create(); i++) {
      actions.add(new RolloutAction.CreateVm(t.name(), s.target(), targetSpec));
    }
    Set<String> gone = new LinkedHashSet<>();
    for (VM v : move.delete()) {
      if (gone.add(v.getMetadata().getName())) {
        String revision = Situation.label(v, Revisions.REVISION_LABEL);
        actions.add(new RolloutAction.DeleteVm(v.getMetadata().getName(),
            s.target().equals(revision) ? "replaced" : "revision " + revision + " is being replaced by " + s.target()));
      }
    }
    if (move.create() > 0) {
      events.add(EventSpec.normal("ScalingUp", "template " + t.name() + ": creating " + move.create() + " VM"
          + (move.create() == 1 ? "" : "s") + " of revision " + s.target()));
    }
  }

  /** Makes the target the current revision, if it is not yet; returns the current revision. */
  private String promote(ClusterSpec.Template t, Situation s, String why, List<RolloutAction> actions, List<EventSpec> events) {
    if (!Objects.equals(s.current(), s.target())) {
      actions.add(new RolloutAction.MarkRevision(revisionName(t, s.target()), "Available", why));
      events.add(EventSpec.normal("RolloutComplete", "template " + t.name() + ": revision " + s.target() + " " + why));
    }
    return s.target();
  }

  /** Whether anything moved since the last look. */
  private static boolean moved(ClusterStatus.TemplateStatus was, String target, int updated, int available, int total, Integer step) {
    return was == null || !target.equals(was.updateRevision()) || was.updatedReplicas() == null || was.updatedReplicas() != updated
        || was.availableReplicas() == null || was.availableReplicas() != available || was.replicas() == null || was.replicas() != total
        || !Objects.equals(was.currentStep(), step);
  }

  private Progress progress(ClusterSpec.Template t, Situation s, String specHash, Failure failure, Optional<String> awaitingPromote,
      int updated, int available, int total) {
    if (failure.of(specHash, generation)) {
      boolean back = autoRollback() && s.current() != null && !s.current().equals(specHash);
      String reason = back ? "RolledBack" : failure.message() != null && failure.message().startsWith("ProgressDeadlineExceeded")
          ? "ProgressDeadlineExceeded" : "RevisionFailed";
      return new Progress(0, Conditions.FALSE, reason, "revision " + specHash + " of template " + t.name() + " failed: " + failure.message()
          + (back ? "; rolled back to revision " + s.current() : ""));
    }
    if (Boolean.TRUE.equals(spec.paused())) {
      return new Progress(1, Conditions.UNKNOWN, "Paused", "the rollout is paused (spec.paused); pctl rollout resume goes on");
    }
    if (awaitingPromote.isPresent()) {
      return new Progress(2, Conditions.TRUE, "Paused", awaitingPromote.get());
    }
    int replicas = s.replicas();
    if (!s.target().equals(s.current()) || total != replicas || updated != replicas || available != replicas) {
      return new Progress(3, Conditions.TRUE, "NewRevisionProgressing", "template " + t.name() + ": " + available + " of " + replicas
          + " VMs available, " + updated + " of revision " + s.target() + (total > replicas ? ", " + (total - updated) + " old" : ""));
    }
    return new Progress(4, Conditions.TRUE, "RolloutComplete", "template " + t.name() + ": revision " + s.target() + " is available");
  }

  private ClusterStatus.TemplateStatus oldStatus(String template) {
    if (old == null || old.templates() == null) {
      return null;
    }
    return old.templates().stream().filter(ts -> ts.name().equals(template)).findFirst().orElse(null);
  }

  private boolean autoRollback() {
    return spec.autoRollback() == null || spec.autoRollback();
  }

  private Duration progressDeadline() {
    return Duration.ofSeconds(spec.progressDeadlineSeconds() == null ? DEFAULT_PROGRESS_DEADLINE_SECONDS : spec.progressDeadlineSeconds());
  }

  private String revisionName(ClusterSpec.Template t, String hash) {
    return Revisions.revisionName(cluster, t.name(), hash);
  }

  static Instant earliest(Instant a, Instant b) {
    return a == null ? b : b == null || a.isBefore(b) ? a : b;
  }

  private static String text(Instant t) {
    return t == null ? null : t.toString();
  }
}
