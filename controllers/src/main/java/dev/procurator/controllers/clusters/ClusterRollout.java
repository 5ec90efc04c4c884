package dev.procurator.controllers.clusters;

import dev.procurator.api.runtime.Conditions;
import dev.procurator.api.runtime.EventRecorder;
import dev.procurator.api.v1alpha1.Cluster;
import dev.procurator.api.v1alpha1.ClusterSpec;
import dev.procurator.api.v1alpha1.ClusterStatus;
import dev.procurator.api.v1alpha1.Revisions;
import dev.procurator.api.v1alpha1.RolloutStrategyType;
import dev.procurator.api.v1alpha1.VM;
import dev.procurator.api.v1alpha1.VMPhase;
import dev.procurator.api.v1alpha1.VMSpec;
import io.fabric8.kubernetes.api.model.Condition;
import io.fabric8.kubernetes.api.model.IntOrString;
import java.time.Duration;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * The Cluster controller's decision, as a pure function of the Cluster, its VMs and its revision
 * history at one moment: which VMs to create and delete, which revisions to record, mark or
 * drop, which closures to pin, the status to write and when to look again. No I/O;
 * {@code ClusterRolloutTest} drives it.
 *
 * <p>Each template rolls out on its own. Its <em>target</em> is the revision of its spec, or,
 * once that revision failed in this generation, the last revision that was fully available
 * (never a half-promoted one). VMs of the target are <em>new</em>, the others <em>old</em>;
 * VMs are never edited into a revision, only created and deleted:
 * <ul>
 *   <li>RollingUpdate: new VMs up to {@code maxSurge} above replicas, old ones deleted while at
 *       least replicas − {@code maxUnavailable} stay available;
 *   <li>BlueGreen: all new VMs start beside the old ones; once every one is available (and
 *       {@code autoPromotion} or a promote says so) the new revision is current, and the old VMs
 *       go {@code scaleDownDelaySeconds} later;
 *   <li>Canary: its steps in order — {@code replicas} runs that many new VMs (and that many
 *       fewer old ones), {@code pause} waits (for {@code pctl rollout promote} when it has no
 *       seconds), {@code analysis} fails the revision if a new VM is not Healthy or restarts
 *       during it — then the rest of the VMs as a rolling update.
 * </ul>
 * A revision under trial fails when one of its VMs fails or restarts, an analysis fails, or the
 * rollout makes no progress for {@code progressDeadlineSeconds}. A VM is available once it has
 * been Running and Healthy (Booted, without health checks) for {@code minReadySeconds}.
 */
public final class ClusterRollout {
  private ClusterRollout() {}

  /** An Event to record about the Cluster. */
  public record Event(String type, String reason, String note) {}

  /**
   * What to do for one Cluster.
   *
   * @param status the status to write, or null when it is unchanged
   * @param requeueAfter when to look again even if nothing changes, or null
   */
  public record Plan(List<RolloutAction> actions, ClusterStatus status, Duration requeueAfter, List<Event> events) {
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
    return new Pass(cluster, vms, history, pinnedElsewhere, now).run();
  }

  // ---- availability ----

  /** Whether the VM runs and is healthy (Booted, for a VM without health checks). */
  static boolean ready(VM vm) {
    return readySince(vm) != null;
  }

  /** Since when the VM has been ready, or null when it is not. */
  static Instant readySince(VM vm) {
    if (vm.getMetadata().getDeletionTimestamp() != null || vm.getStatus() == null || vm.getStatus().phase() != VMPhase.RUNNING) {
      return null;
    }
    List<Condition> cs = vm.getStatus().conditions();
    boolean checked = vm.getSpec().healthChecks() != null && !vm.getSpec().healthChecks().isEmpty();
    Optional<Condition> c = Conditions.find(cs, checked ? "Healthy" : "Booted");
    if (c.isEmpty() || !Conditions.TRUE.equals(c.get().getStatus())) {
      return null;
    }
    return time(c.get().getLastTransitionTime(), Instant.EPOCH);
  }

  static Instant time(String t, Instant otherwise) {
    try {
      return t == null ? otherwise : Instant.parse(t);
    } catch (DateTimeParseException e) {
      return otherwise;
    }
  }

  /** A count, or a percentage of {@code of} rounded up or down. */
  static int resolve(IntOrString v, int of, String otherwise, boolean roundUp) {
    IntOrString value = v == null ? new IntOrString(otherwise) : v;
    if (value.getIntVal() != null) {
      return value.getIntVal();
    }
    String s = value.getStrVal();
    if (s != null && s.endsWith("%")) {
      double pct = Integer.parseInt(s.substring(0, s.length() - 1)) / 100.0 * of;
      return (int) (roundUp ? Math.ceil(pct) : Math.floor(pct));
    }
    return Integer.parseInt(s);
  }

  /** One decision being put together. */
  private static final class Pass {
    final Cluster cluster;
    final ClusterSpec spec;
    final ClusterStatus old;
    final List<VM> vms;
    final List<Revision> history;
    final Set<String> pinnedElsewhere;
    final Instant now;
    final long generation;
    final List<RolloutAction> actions = new ArrayList<>();
    final List<Event> events = new ArrayList<>();
    final List<ClusterStatus.TemplateStatus> templateStatuses = new ArrayList<>();
    final Set<String> wantedClosures = new LinkedHashSet<>();
    Instant wakeAt;
    /** What each template says for the Progressing condition, worst first. */
    final List<Progress> progress = new ArrayList<>();
    boolean allAvailable = true;

    /** A template's contribution to the Progressing condition; lower rank wins. */
    record Progress(int rank, String status, String reason, String message) {}

    Pass(Cluster cluster, List<VM> vms, List<Revision> history, Set<String> pinnedElsewhere, Instant now) {
      this.cluster = cluster;
      this.spec = cluster.getSpec();
      this.old = cluster.getStatus();
      this.vms = vms;
      this.history = history;
      this.pinnedElsewhere = pinnedElsewhere;
      this.now = now;
      this.generation = cluster.getMetadata().getGeneration() == null ? 1 : cluster.getMetadata().getGeneration();
    }

    Plan run() {
      Set<String> names = new LinkedHashSet<>();
      for (ClusterSpec.Template t : spec.templates()) {
        names.add(t.name());
        template(t);
      }
      // VMs and revisions of templates that are no longer in the spec
      for (VM vm : vms) {
        String t = label(vm, Revisions.TEMPLATE_LABEL);
        if (!names.contains(t) && vm.getMetadata().getDeletionTimestamp() == null) {
          actions.add(new RolloutAction.DeleteVm(vm.getMetadata().getName(), "template " + t + " is no longer in the spec"));
        }
      }
      for (Revision r : history) {
        if (!names.contains(r.template())) {
          actions.add(new RolloutAction.DeleteRevision(r.name()));
        }
      }
      pins();
      ClusterStatus next = status();
      Duration requeue = wakeAt == null ? null : Duration.between(now, wakeAt).isNegative() ? Duration.ZERO : Duration.between(now, wakeAt);
      return new Plan(actions, Objects.equals(next, old) ? null : next, requeue, events);
    }

    void wake(Instant at) {
      if (at != null && (wakeAt == null || at.isBefore(wakeAt))) {
        wakeAt = at;
      }
    }

    Duration minReady() {
      Integer s = spec.strategy() == null ? null : spec.strategy().minReadySeconds();
      return Duration.ofSeconds(s == null ? 0 : s);
    }

    /** Ready for minReadySeconds; asks to be woken when a ready VM will have waited long enough. */
    boolean available(VM vm) {
      Instant since = readySince(vm);
      if (since == null) {
        return false;
      }
      Instant at = since.plus(minReady());
      if (now.isBefore(at)) {
        wake(at);
        return false;
      }
      return true;
    }

    ClusterStatus.TemplateStatus oldStatus(String template) {
      if (old == null || old.templates() == null) {
        return null;
      }
      return old.templates().stream().filter(t -> t.name().equals(template)).findFirst().orElse(null);
    }

    RolloutStrategyType strategyType() {
      return spec.strategy() == null || spec.strategy().type() == null ? RolloutStrategyType.ROLLING_UPDATE : spec.strategy().type();
    }

    // ---- one template ----

    void template(ClusterSpec.Template t) {
      int replicas = t.replicas() == null ? 1 : t.replicas();
      String specHash = Revisions.hash(t.spec());
      ClusterStatus.TemplateStatus was = oldStatus(t.name());
      String current = was == null ? null : was.currentRevision();
      List<Revision> revisions = history.stream().filter(r -> r.template().equals(t.name())).toList();

      boolean failed = was != null && specHash.equals(was.failedRevision()) && Objects.equals(was.failedGeneration(), generation);
      boolean rollBack = failed && Boolean.TRUE.equals(autoRollback()) && current != null && !current.equals(specHash);
      String target = rollBack ? current : specHash;
      VMSpec targetSpec = target.equals(specHash) ? t.spec()
          : revisions.stream().filter(r -> r.hash().equals(target)).map(Revision::spec).findFirst().orElse(null);
      if (rollBack && targetSpec == null) {
        // the good revision left history: there is nothing to roll back to
        rollBack = false;
      }
      boolean hold = failed && !rollBack || Boolean.TRUE.equals(spec.paused());
      String finalTarget = rollBack ? current : specHash;

      Instant restartedAt = time(annotation(Cluster.RESTARTED_AT), null);
      List<VM> mine = vms.stream().filter(v -> t.name().equals(label(v, Revisions.TEMPLATE_LABEL))).toList();
      List<VM> live = mine.stream().filter(v -> v.getMetadata().getDeletionTimestamp() == null).toList();
      List<VM> fresh = live.stream().filter(v -> finalTarget.equals(label(v, Revisions.REVISION_LABEL))
          && (restartedAt == null || !time(v.getMetadata().getCreationTimestamp(), Instant.EPOCH).isBefore(restartedAt))).toList();
      List<VM> stale = live.stream().filter(v -> !fresh.contains(v)).toList();

      TemplateRollout r = new TemplateRollout(t, replicas, finalTarget, targetSpec == null ? t.spec() : targetSpec, current, was, fresh,
          stale, revisions);
      r.failedHere = failed;
      r.rollBack = rollBack;
      r.hold = hold;
      r.run();

      // revisions: the target's and the current one's are recorded; history beyond the limit goes
      records(t, revisions, finalTarget, targetSpec == null ? t.spec() : targetSpec, r.current);
      wantClosure(t.spec());
      for (VM vm : live) {
        wantClosure(vm.getSpec());
      }
    }

    void wantClosure(VMSpec s) {
      if (s != null && s.boot() != null && s.boot().closure() != null) {
        wantedClosures.add(s.boot().closure());
      }
    }

    Boolean autoRollback() {
      return spec.autoRollback() == null ? Boolean.TRUE : spec.autoRollback();
    }

    String annotation(String key) {
      Map<String, String> a = cluster.getMetadata().getAnnotations();
      return a == null ? null : a.get(key);
    }

    /** Records the target's and current revision's ControllerRevisions and trims history to the limit. */
    void records(ClusterSpec.Template t, List<Revision> revisions, String target, VMSpec targetSpec, String current) {
      long next = revisions.stream().mapToLong(Revision::number).max().orElse(0) + 1;
      if (revisions.stream().noneMatch(r -> r.hash().equals(target))) {
        actions.add(new RolloutAction.CreateRevision(t.name(), target, next, targetSpec));
      }
      int limit = spec.revisionHistoryLimit() == null ? 10 : spec.revisionHistoryLimit();
      List<Revision> kept = revisions.stream().filter(r -> !r.hash().equals(target) && !r.hash().equals(current))
          .sorted(Comparator.comparingLong(Revision::number).reversed()).toList();
      for (int i = 0; i < kept.size(); i++) {
        if (i < limit) {
          wantClosure(kept.get(i).spec());
        } else {
          actions.add(new RolloutAction.DeleteRevision(kept.get(i).name()));
        }
      }
      revisions.stream().filter(r -> r.hash().equals(target) || r.hash().equals(current)).forEach(r -> wantClosure(r.spec()));
    }

    // ---- pins ----

    void pins() {
      if (pinnedElsewhere == null) {
        wantedClosures.clear();
        return;
      }
      Set<String> had = old == null || old.pinnedClosures() == null ? Set.of() : Set.copyOf(old.pinnedClosures());
      for (String c : wantedClosures) {
        if (!had.contains(c)) {
          actions.add(new RolloutAction.Pin(c));
        }
      }
      for (String c : had) {
        if (!wantedClosures.contains(c) && !pinnedElsewhere.contains(c)) {
          actions.add(new RolloutAction.Unpin(c));
        }
      }
    }

    // ---- status ----

    ClusterStatus status() {
      int replicas = 0;
      int ready = 0;
      int updated = 0;
      int available = 0;
      for (ClusterStatus.TemplateStatus ts : templateStatuses) {
        replicas += ts.replicas();
        ready += ts.readyReplicas();
        updated += ts.updatedReplicas();
        available += ts.availableReplicas();
      }
      List<Condition> conditions = old == null ? null : old.conditions();
      Progress p = progress.stream().min(Comparator.comparingInt(Progress::rank)).orElse(
          new Progress(9, Conditions.TRUE, "RolloutComplete", "no templates"));
      conditions = Conditions.setAll(conditions,
          allAvailable ? Conditions.of("Available", Conditions.TRUE, "MinimumReplicasAvailable", "every template has the VMs it needs available", now)
              : Conditions.of("Available", Conditions.FALSE, "MinimumReplicasUnavailable", "a template has fewer available VMs than it needs", now),
          Conditions.of("Progressing", p.status(), p.reason(), p.message(), now));
      return new ClusterStatus(generation, joined(ClusterStatus.TemplateStatus::currentRevision),
          joined(ClusterStatus.TemplateStatus::updateRevision), replicas, ready, updated, available, List.copyOf(templateStatuses),
          conditions, wantedClosures.isEmpty() ? null : wantedClosures.stream().sorted().toList());
    }

    /** One template's hash as it is; several as template=hash pairs. */
    String joined(java.util.function.Function<ClusterStatus.TemplateStatus, String> f) {
      if (templateStatuses.size() == 1) {
        return f.apply(templateStatuses.getFirst());
      }
      String s = templateStatuses.stream().filter(ts -> f.apply(ts) != null).map(ts -> ts.name() + "=" + f.apply(ts))
          .collect(Collectors.joining(","));
      return s.isEmpty() ? null : s;
    }

    static String label(VM vm, String key) {
      Map<String, String> l = vm.getMetadata().getLabels();
      return l == null ? null : l.get(key);
    }

    // ---- the rollout of one template ----

    /** One template's rollout toward its target revision. */
    final class TemplateRollout {
      final ClusterSpec.Template t;
      final int replicas;
      final String target;
      final VMSpec targetSpec;
      String current;
      final ClusterStatus.TemplateStatus was;
      final List<VM> fresh;
      final List<VM> stale;
      final List<Revision> revisions;
      boolean failedHere;
      boolean rollBack;
      boolean hold;
      String failedRevision;
      Long failedGeneration;
      String failureMessage;
      Integer step;
      Instant stepStart;
      Instant promoted;
      Instant lastProgress;
      int toCreate;
      final List<VM> toDelete = new ArrayList<>();

      TemplateRollout(ClusterSpec.Template t, int replicas, String target, VMSpec targetSpec, String current,
          ClusterStatus.TemplateStatus was, List<VM> fresh, List<VM> stale, List<Revision> revisions) {
        this.t = t;
        this.replicas = replicas;
        this.target = target;
        this.targetSpec = targetSpec;
        this.current = current;
        this.was = was;
        this.fresh = fresh;
        this.stale = stale;
        this.revisions = revisions;
        boolean sameTarget = was != null && target.equals(was.updateRevision());
        this.failedRevision = was == null ? null : was.failedRevision();
        this.failedGeneration = was == null ? null : was.failedGeneration();
        this.failureMessage = was == null ? null : was.failureMessage();
        this.step = sameTarget ? was.currentStep() : null;
        this.stepStart = sameTarget && was.stepStartTime() != null ? time(was.stepStartTime(), now) : null;
        this.promoted = sameTarget && was.promotedTime() != null ? time(was.promotedTime(), now) : null;
        this.lastProgress = sameTarget && was.lastProgressTime() != null ? time(was.lastProgressTime(), now) : now;
      }

      boolean underTrial() {
        return !rollBack && !target.equals(current);
      }

      void run() {
        if (!hold) {
          if (underTrial()) {
            Optional<String> why = failure();
            if (why.isPresent()) {
              fail(why.get());
            } else {
              roll();
            }
          } else {
            roll();
          }
        }
        finish();
      }

      /** Why the revision under trial failed, if it did. */
      Optional<String> failure() {
        for (VM vm : fresh) {
          var st = vm.getStatus();
          if (st == null) {
            continue;
          }
          if (st.phase() == VMPhase.FAILED) {
            return Optional.of("VM " + vm.getMetadata().getName() + " failed: " + st.message());
          }
          if (st.restartCount() != null && st.restartCount() > 0) {
            return Optional.of("VM " + vm.getMetadata().getName() + " restarted (" + st.restartCount() + "): " + st.message());
          }
        }
        // waiting for someone to promote is not a lack of progress
        if (!atIndefinitePause() && !awaitingBlueGreenPromotion()) {
          Duration deadline = Duration.ofSeconds(spec.progressDeadlineSeconds() == null ? 600 : spec.progressDeadlineSeconds());
          if (!now.isBefore(lastProgress.plus(deadline)) && !complete()) {
            return Optional.of("ProgressDeadlineExceeded: no progress for " + deadline.toSeconds() + " s");
          }
          wake(lastProgress.plus(deadline));
        }
        return Optional.empty();
      }

      void fail(String why) {
        String where = "revision " + target + " of template " + t.name();
        failedRevision = target;
        failedGeneration = generation;
        failureMessage = why;
        String name = Revisions.revisionName(cluster.getMetadata().getName(), t.name(), target);
        actions.add(new RolloutAction.MarkRevision(name, "Failed", why));
        boolean back = Boolean.TRUE.equals(autoRollback()) && current != null;
        events.add(new Event(EventRecorder.WARNING, back ? "RolledBack" : "RolloutFailed",
            where + " failed: " + why + (back ? "; rolling back to " + current : "")));
        // the rollback itself starts on the next look, from this status
        wake(now);
        hold = true;
      }

      /** The VMs to have and to remove, under the strategy. */
      void roll() {
        // the first revision has nothing to protect: it skips canary steps and blue-green previews
        boolean trial = underTrial() && current != null;
        RolloutStrategyType type = strategyType();
        boolean restart = target.equals(current) && !stale.isEmpty() && stale.stream().allMatch(v -> target.equals(label(v, Revisions.REVISION_LABEL)));
        if (trial && type == RolloutStrategyType.BLUE_GREEN) {
          blueGreen();
        } else if (trial && type == RolloutStrategyType.CANARY && spec.strategy() != null && spec.strategy().steps() != null) {
          canary();
        } else if (!trial && type == RolloutStrategyType.BLUE_GREEN && promoted != null && !restart) {
          scaleDownAfterPromotion();
        } else {
          rolling(replicas);
        }
      }

      int maxSurge() {
        return Math.max(0, resolve(spec.strategy() == null ? null : spec.strategy().maxSurge(), replicas, "25%", true));
      }

      int maxUnavailable() {
        int u = Math.max(0, resolve(spec.strategy() == null ? null : spec.strategy().maxUnavailable(), replicas, "25%", false));
        return u == 0 && maxSurge() == 0 ? 1 : u;
      }

      /** RollingUpdate toward {@code want} new VMs and no old ones. */
      void rolling(int want) {
        int surge = maxSurge();
        int minAvailable = Math.max(0, replicas - maxUnavailable());
        int total = fresh.size() + stale.size();
        // too many new ones (replicas went down): remove the unavailable first, then the youngest
        if (fresh.size() > want) {
          fresh.stream().sorted(Comparator.comparing((VM v) -> available(v)).thenComparing(v -> v.getMetadata().getCreationTimestamp(),
              Comparator.reverseOrder())).limit(fresh.size() - want).forEach(toDelete::add);
          return;
        }
        int room = replicas + surge - total;
        // old VMs that are not available cost nothing to remove
        List<VM> staleUnavailable = stale.stream().filter(v -> !available(v)).toList();
        toDelete.addAll(staleUnavailable);
        long availableNow = fresh.stream().filter(Pass.this::available).count() + stale.stream().filter(Pass.this::available).count();
        long canLose = availableNow - minAvailable;
        // with too little room to add (maxSurge 0), an old VM makes way even if that dips to the minimum
        for (VM v : stale.stream().filter(Pass.this::available).sorted(Comparator.comparing(v -> v.getMetadata().getCreationTimestamp())).toList()) {
          if (canLose <= 0) {
            break;
          }
          toDelete.add(v);
          canLose--;
        }
        // a VM being deleted no longer counts (the next pass would not count it): its replacement
        // is created in this pass rather than after the delete comes back as an event
        toCreate = Math.max(0, Math.min(want - fresh.size(), room + toDelete.size()));
        if (toCreate == 0 && fresh.size() < want && toDelete.isEmpty() && room <= 0 && !stale.isEmpty()) {
          // every old VM is needed for availability and there is no room: nothing can move; the
          // minimum of one unavailable VM (set when both limits are 0) prevents this
          wake(now.plusSeconds(5));
        }
      }

      // ---- blue-green ----

      boolean awaitingBlueGreenPromotion() {
        return strategyType() == RolloutStrategyType.BLUE_GREEN && underTrial() && current != null && fresh.size() == replicas
            && fresh.stream().allMatch(Pass.this::available) && Boolean.FALSE.equals(spec.strategy().autoPromotion()) && !promoteRequested(stepStart);
      }

      void blueGreen() {
        toCreate = Math.max(0, replicas - fresh.size());
        if (fresh.size() > replicas) {
          rolling(replicas);
          return;
        }
        boolean allUp = fresh.size() == replicas && fresh.stream().allMatch(Pass.this::available);
        if (!allUp) {
          stepStart = null;
          return;
        }
        if (stepStart == null) {
          stepStart = now; // when the new revision became ready for promotion
        }
        boolean auto = spec.strategy() == null || !Boolean.FALSE.equals(spec.strategy().autoPromotion());
        if (auto || promoteRequested(stepStart)) {
          promoted = now;
          promote("promoted: all " + replicas + " VMs of revision " + target + " are available");
          scaleDownAfterPromotion();
        }
      }

      void scaleDownAfterPromotion() {
        if (promoted == null) {
          rolling(replicas);
          return;
        }
        int delay = spec.strategy() == null || spec.strategy().scaleDownDelaySeconds() == null ? 30 : spec.strategy().scaleDownDelaySeconds();
        Instant at = promoted.plusSeconds(delay);
        toCreate = Math.max(0, replicas - fresh.size());
        if (now.isBefore(at)) {
          wake(at);
          return;
        }
        toDelete.addAll(stale);
      }

      boolean promoteRequested(Instant since) {
        Instant asked = time(annotation(Cluster.PROMOTE), null);
        return asked != null && since != null && !asked.isBefore(since.minusSeconds(1));
      }

      // ---- canary ----

      List<ClusterSpec.Step> steps() {
        return spec.strategy().steps();
      }

      boolean atIndefinitePause() {
        if (strategyType() != RolloutStrategyType.CANARY || !underTrial() || current == null || spec.strategy() == null || spec.strategy().steps() == null) {
          return false;
        }
        int i = step == null ? 0 : step;
        if (i >= steps().size()) {
          return false;
        }
        ClusterSpec.Step s = steps().get(i);
        return s.pause() != null && s.pause().seconds() == null && !promoteRequested(stepStart);
      }

      void canary() {
        if (step == null) {
          step = 0;
          stepStart = now;
        }
        // several steps may be done in one look (a pause of 0, a step already reached)
        for (int guard = 0; guard <= steps().size(); guard++) {
          if (step >= steps().size()) {
            rolling(replicas);
            return;
          }
          ClusterSpec.Step s = steps().get(step);
          if (!canaryStepDone(s)) {
            return;
          }
          step++;
          stepStart = now;
          events.add(new Event(EventRecorder.NORMAL, "CanaryStep", "template " + t.name() + " revision " + target + ": step "
              + step + " of " + steps().size() + " done"));
        }
      }

      /** The canary VMs the steps so far ask for. */
      int canaryWeight(int upTo) {
        int n = 0;
        for (int i = 0; i <= upTo && i < steps().size(); i++) {
          if (steps().get(i).replicas() != null) {
            n = Math.min(replicas, steps().get(i).replicas());
          }
        }
        return n;
      }

      boolean canaryStepDone(ClusterSpec.Step s) {
        int n = canaryWeight(step);
        if (s.replicas() != null) {
          // n new VMs, and as many fewer old ones, once the new ones are available
          toCreate = Math.max(0, n - fresh.size());
          long up = fresh.stream().filter(Pass.this::available).count();
          if (up < n) {
            return false;
          }
          int keepOld = Math.max(0, replicas - n);
          stale.stream().sorted(Comparator.comparing((VM v) -> available(v)).thenComparing(v -> v.getMetadata().getCreationTimestamp()))
              .limit(Math.max(0, stale.size() - keepOld)).forEach(toDelete::add);
          return stale.size() - toDelete.size() <= keepOld && toDelete.isEmpty();
        }
        toCreate = Math.max(0, n - fresh.size());
        if (s.pause() != null) {
          if (s.pause().seconds() == null) {
            return promoteRequested(stepStart);
          }
          Instant end = stepStart.plusSeconds(s.pause().seconds());
          if (now.isBefore(end)) {
            wake(end);
            return false;
          }
          return true;
        }
        if (s.analysis() != null) {
          for (VM vm : fresh) {
            if (!ready(vm)) {
              fail("analysis: VM " + vm.getMetadata().getName() + " was not Healthy during the " + s.analysis().seconds() + " s analysis"
                  + (vm.getStatus() == null || vm.getStatus().message() == null ? "" : ": " + vm.getStatus().message()));
              return false;
            }
          }
          Instant end = stepStart.plusSeconds(s.analysis().seconds());
          if (now.isBefore(end)) {
            wake(end);
            return false;
          }
          return true;
        }
        return true;
      }

      boolean complete() {
        return fresh.size() == replicas && stale.isEmpty() && fresh.stream().allMatch(Pass.this::available)
            && (strategyType() != RolloutStrategyType.CANARY || !underTrial() || current == null || step == null
                || step >= steps().size());
      }

      void promote(String why) {
        if (!Objects.equals(current, target)) {
          current = target;
          String name = Revisions.revisionName(cluster.getMetadata().getName(), t.name(), target);
          actions.add(new RolloutAction.MarkRevision(name, "Available", why));
          events.add(new Event(EventRecorder.NORMAL, "RolloutComplete", "template " + t.name() + ": revision " + target + " " + why));
        }
      }

      // ---- the template's actions and status ----

      void finish() {
        if (!hold) {
          for (int i = 0; i < toCreate; i++) {
            actions.add(new RolloutAction.CreateVm(t.name(), target, targetSpec));
          }
          Set<String> gone = new LinkedHashSet<>();
          for (VM v : toDelete) {
            if (gone.add(v.getMetadata().getName())) {
              actions.add(new RolloutAction.DeleteVm(v.getMetadata().getName(),
                  target.equals(label(v, Revisions.REVISION_LABEL)) ? "replaced" : "revision " + label(v, Revisions.REVISION_LABEL)
                      + " is being replaced by " + target));
            }
          }
          if (toCreate > 0) {
            events.add(new Event(EventRecorder.NORMAL, "ScalingUp", "template " + t.name() + ": creating " + toCreate + " VM"
                + (toCreate == 1 ? "" : "s") + " of revision " + target));
          }
          if (complete() && (strategyType() != RolloutStrategyType.BLUE_GREEN || promoted != null || current == null)) {
            promote("is available: " + replicas + " of " + replicas + " VMs");
          }
        }
        int ready = (int) (fresh.stream().filter(ClusterRollout::ready).count() + stale.stream().filter(ClusterRollout::ready).count());
        int available = (int) (fresh.stream().filter(Pass.this::available).count() + stale.stream().filter(Pass.this::available).count());
        int updated = fresh.size();
        int total = fresh.size() + stale.size();
        // progress: anything that moved since the last look
        if (was == null || !target.equals(was.updateRevision()) || was.updatedReplicas() == null || was.updatedReplicas() != updated
            || was.availableReplicas() == null || was.availableReplicas() != available || was.replicas() == null || was.replicas() != total
            || !Objects.equals(was.currentStep(), step) || atIndefinitePause() || awaitingBlueGreenPromotion()) {
          lastProgress = now;
        }
        String specHash = Revisions.hash(t.spec());
        templateStatuses.add(new ClusterStatus.TemplateStatus(t.name(), total, ready, updated, available, current, specHash,
            failedRevision, failedGeneration, failureMessage, lastProgress.toString(), step,
            stepStart == null ? null : stepStart.toString(), promoted == null ? null : promoted.toString()));
        if (available < Math.max(0, replicas - maxUnavailable())) {
          allAvailable = false;
        }
        progress.add(progress(specHash, updated, available, total));
      }

      Progress progress(String specHash, int updated, int available, int total) {
        boolean failedNow = specHash.equals(failedRevision) && Objects.equals(failedGeneration, generation);
        if (failedNow) {
          boolean back = Boolean.TRUE.equals(autoRollback()) && current != null && !current.equals(specHash);
          String reason = back ? "RolledBack" : failureMessage != null && failureMessage.startsWith("ProgressDeadlineExceeded")
              ? "ProgressDeadlineExceeded" : "RevisionFailed";
          String msg = "revision " + specHash + " of template " + t.name() + " failed: " + failureMessage
              + (back ? "; rolled back to revision " + current : "");
          return new Progress(0, Conditions.FALSE, reason, msg);
        }
        if (Boolean.TRUE.equals(spec.paused())) {
          return new Progress(1, Conditions.UNKNOWN, "Paused", "the rollout is paused (spec.paused); pctl rollout resume goes on");
        }
        if (atIndefinitePause()) {
          return new Progress(2, Conditions.TRUE, "Paused", "template " + t.name() + " is paused at canary step " + (step + 1) + " of "
              + steps().size() + "; pctl rollout promote cluster/" + cluster.getMetadata().getName() + " goes on");
        }
        if (awaitingBlueGreenPromotion()) {
          return new Progress(2, Conditions.TRUE, "Paused", "template " + t.name() + ": the new revision " + target
              + " is available; pctl rollout promote cluster/" + cluster.getMetadata().getName() + " switches to it");
        }
        if (!target.equals(current) || total != replicas || updated != replicas || available != replicas) {
          return new Progress(3, Conditions.TRUE, "NewRevisionProgressing", "template " + t.name() + ": " + available + " of " + replicas
              + " VMs available, " + updated + " of revision " + target + (total > replicas ? ", " + (total - updated) + " old" : ""));
        }
        return new Progress(4, Conditions.TRUE, "RolloutComplete", "template " + t.name() + ": revision " + target + " is available");
      }
    }
  }
}
