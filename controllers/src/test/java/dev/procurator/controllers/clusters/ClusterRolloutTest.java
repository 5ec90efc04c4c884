package dev.procurator.controllers.clusters;

import static org.assertj.core.api.Assertions.assertThat;

import dev.procurator.api.runtime.Conditions;
import dev.procurator.api.runtime.EventSpec;
import dev.procurator.api.v1alpha1.Cluster;
import dev.procurator.api.v1alpha1.ClusterSpec;
import dev.procurator.api.v1alpha1.ClusterStatus;
import dev.procurator.api.v1alpha1.HealthCheckType;
import dev.procurator.api.v1alpha1.Revisions;
import dev.procurator.api.v1alpha1.RolloutStrategyType;
import dev.procurator.api.v1alpha1.VM;
import dev.procurator.api.v1alpha1.VMPhase;
import dev.procurator.api.v1alpha1.VMSpec;
import dev.procurator.api.v1alpha1.VMStatus;
import io.fabric8.kubernetes.api.model.Condition;
import io.fabric8.kubernetes.api.model.IntOrString;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * The Cluster rollout decision, case by case: each test is a Cluster, its VMs and history at one
 * moment, and what {@link ClusterRollout#decide} must do. No API, no clock but the one given.
 */
class ClusterRolloutTest {
  static final Instant NOW = Instant.parse("2026-12-02T12:00:00Z");
  static final VMSpec.HealthCheck HEALTH = new VMSpec.HealthCheck(HealthCheckType.HTTP, 8080, "/healthz", null, 1, 1, 3);
  static final VMSpec V1 = spec("/nix/store/11111111111111111111111111111111-guest-v1");
  static final VMSpec V2 = spec("/nix/store/22222222222222222222222222222222-guest-v2");
  static final String H1 = Revisions.hash(V1);
  static final String H2 = Revisions.hash(V2);

  static VMSpec spec(String closure) {
    return new VMSpec(1, "128Mi", null, new VMSpec.Boot(closure, null, null, null), null, null, null, null, List.of(HEALTH), null, null);
  }

  // ---- building the world ----

  static final class World {
    final Cluster cluster = new Cluster();
    final List<VM> vms = new ArrayList<>();
    final List<Revision> history = new ArrayList<>();
    Set<String> pinnedElsewhere = Set.of();
    int seq;

    World(VMSpec spec, int replicas, ClusterSpec.Strategy strategy) {
      cluster.setMetadata(new ObjectMetaBuilder().withName("shop").withNamespace("default").withUid("uid-shop").withGeneration(1L)
          .withAnnotations(new HashMap<>()).build());
      cluster.setSpec(new ClusterSpec(List.of(new ClusterSpec.Template("web", replicas, spec)), strategy, null, null, null, null));
    }

    World spec(VMSpec spec) {
      ClusterSpec s = cluster.getSpec();
      cluster.setSpec(new ClusterSpec(List.of(s.templates().getFirst().withSpec(spec)), s.strategy(), s.autoRollback(),
          s.revisionHistoryLimit(), s.progressDeadlineSeconds(), s.paused()));
      cluster.getMetadata().setGeneration(cluster.getMetadata().getGeneration() + 1);
      return this;
    }

    World autoRollback(boolean on) {
      ClusterSpec s = cluster.getSpec();
      cluster.setSpec(new ClusterSpec(s.templates(), s.strategy(), on, s.revisionHistoryLimit(), s.progressDeadlineSeconds(), s.paused()));
      return this;
    }

    World paused() {
      ClusterSpec s = cluster.getSpec();
      cluster.setSpec(new ClusterSpec(s.templates(), s.strategy(), s.autoRollback(), s.revisionHistoryLimit(), s.progressDeadlineSeconds(),
          true));
      return this;
    }

    World historyLimit(int n) {
      ClusterSpec s = cluster.getSpec();
      cluster.setSpec(new ClusterSpec(s.templates(), s.strategy(), s.autoRollback(), n, s.progressDeadlineSeconds(), s.paused()));
      return this;
    }

    /** A VM of revision {@code hash}, healthy since {@code healthySince} (null: not healthy), failed when asked. */
    VM vm(String hash, VMSpec spec, Instant healthySince, VMPhase phase, int restarts) {
      VM vm = new VM();
      vm.setMetadata(new ObjectMetaBuilder().withName("shop-web-" + hash + "-" + (seq++)).withNamespace("default")
          .withCreationTimestamp(NOW.minusSeconds(600 - seq).toString())
          .withLabels(Map.of(Revisions.CLUSTER_LABEL, "shop", Revisions.TEMPLATE_LABEL, "web", Revisions.REVISION_LABEL, hash)).build());
      vm.setSpec(spec);
      List<Condition> cs = new ArrayList<>();
      cs.add(Conditions.of("Booted", healthySince == null && phase != VMPhase.RUNNING ? "False" : "True", "Ready", "", NOW.minusSeconds(500)));
      cs.add(healthySince == null ? Conditions.of("Healthy", "Unknown", "NotYetChecked", "", NOW)
          : Conditions.of("Healthy", "True", "ChecksPassing", "", healthySince));
      vm.setStatus(new VMStatus(phase, "node-a", 1L, cs, phase == VMPhase.FAILED ? "health check failed 3 times in a row" : "up", restarts,
          null));
      vms.add(vm);
      return vm;
    }

    VM healthy(String hash, VMSpec spec) {
      return vm(hash, spec, NOW.minusSeconds(300), VMPhase.RUNNING, 0);
    }

    VM booting(String hash, VMSpec spec) {
      return vm(hash, spec, null, VMPhase.STARTING, 0);
    }

    World revision(String hash, VMSpec spec, long number) {
      history.add(new Revision(Revisions.revisionName("shop", "web", hash), "web", hash, number, spec, null, NOW.minusSeconds(1000)));
      return this;
    }

    /** The status as a previous pass left it, with {@code current} as the good revision. */
    World status(String current, String update) {
      cluster.setStatus(new ClusterStatus(cluster.getMetadata().getGeneration(), current, update, 0, 0, 0, 0,
          List.of(new ClusterStatus.TemplateStatus("web", 0, 0, 0, 0, current, update, null, null, null, NOW.minusSeconds(10).toString(),
              null, null, null)), null, null));
      return this;
    }

    World templateStatus(ClusterStatus.TemplateStatus ts) {
      cluster.setStatus(new ClusterStatus(cluster.getMetadata().getGeneration(), ts.currentRevision(), ts.updateRevision(), 0, 0, 0, 0,
          List.of(ts), null, null));
      return this;
    }

    ClusterRollout.Plan decide() {
      return decide(NOW);
    }

    ClusterRollout.Plan decide(Instant at) {
      return ClusterRollout.decide(cluster, vms, history, pinnedElsewhere, at);
    }
  }

  static ClusterSpec.Strategy rolling(Object maxSurge, Object maxUnavailable) {
    return new ClusterSpec.Strategy(RolloutStrategyType.ROLLING_UPDATE, ios(maxUnavailable), ios(maxSurge), null, null, null, null);
  }

  static IntOrString ios(Object o) {
    return o == null ? null : o instanceof Integer i ? new IntOrString(i) : new IntOrString((String) o);
  }

  static long creates(ClusterRollout.Plan p, String hash) {
    return p.actions().stream().filter(a -> a instanceof RolloutAction.CreateVm c && c.hash().equals(hash)).count();
  }

  static List<String> deletes(ClusterRollout.Plan p) {
    return p.actions().stream().filter(a -> a instanceof RolloutAction.DeleteVm).map(a -> ((RolloutAction.DeleteVm) a).name()).toList();
  }

  static Condition progressing(ClusterRollout.Plan p) {
    return Conditions.find(p.status().conditions(), "Progressing").orElseThrow();
  }

  static ClusterStatus.TemplateStatus web(ClusterRollout.Plan p) {
    return p.status().templates().getFirst();
  }

  // ---- a first rollout ----

  @Test
  void aNewClusterCreatesItsReplicasAndRecordsItsFirstRevision() {
    World w = new World(V1, 3, null);
    ClusterRollout.Plan p = w.decide();
    assertThat(creates(p, H1)).isEqualTo(3);
    assertThat(p.actions()).contains(new RolloutAction.CreateRevision("web", H1, 1, V1), new RolloutAction.Pin(V1.boot().closure()));
    assertThat(progressing(p).getReason()).isEqualTo("NewRevisionProgressing");
    assertThat(p.status().updateRevision()).isEqualTo(H1);
    assertThat(p.status().currentRevision()).isNull();
  }

  @Test
  void whenEveryVmIsAvailableTheRevisionIsCurrentAndTheRolloutComplete() {
    World w = new World(V1, 2, null).revision(H1, V1, 1).status(null, H1);
    w.healthy(H1, V1);
    w.healthy(H1, V1);
    ClusterRollout.Plan p = w.decide();
    assertThat(p.status().currentRevision()).isEqualTo(H1);
    assertThat(progressing(p).getReason()).isEqualTo("RolloutComplete");
    assertThat(p.actions()).contains(new RolloutAction.MarkRevision(Revisions.revisionName("shop", "web", H1), "Available",
        "is available: 2 of 2 VMs"));
    assertThat(p.events()).extracting(EventSpec::reason).contains("RolloutComplete");
    assertThat(p.status().availableReplicas()).isEqualTo(2);
  }

  // ---- rolling update ----

  @Test
  void aRollingUpdateSurgesAndKeepsTheMinimumAvailable() {
    World w = new World(V1, 3, rolling(1, 1)).revision(H1, V1, 1).status(H1, H1);
    VM a = w.healthy(H1, V1);
    w.healthy(H1, V1);
    w.healthy(H1, V1);
    w.spec(V2);
    ClusterRollout.Plan p = w.decide();
    // maxSurge 1, and the place of the old VM this pass deletes (a VM being deleted no longer counts)
    assertThat(creates(p, H2)).as("maxSurge 1 + the deleted one's place").isEqualTo(2);
    assertThat(deletes(p)).as("maxUnavailable 1: the oldest goes").containsExactly(a.getMetadata().getName());
    assertThat(p.actions()).contains(new RolloutAction.CreateRevision("web", H2, 2, V2));
    assertThat(progressing(p).getReason()).isEqualTo("NewRevisionProgressing");
  }

  @Test
  void aRollingUpdateDeletesNoAvailableOldVmBelowTheMinimum() {
    World w = new World(V1, 3, rolling(1, 0)).revision(H1, V1, 1).revision(H2, V2, 2);
    w.healthy(H1, V1);
    w.healthy(H1, V1);
    w.healthy(H1, V1);
    w.spec(V2).status(H1, H2);
    w.booting(H2, V2);
    ClusterRollout.Plan p = w.decide();
    assertThat(creates(p, H2)).as("no room above replicas + maxSurge").isZero();
    assertThat(deletes(p)).as("maxUnavailable 0").isEmpty();
  }

  @Test
  void aVmIsAvailableOnlyAfterMinReadySeconds() {
    ClusterSpec.Strategy s = new ClusterSpec.Strategy(RolloutStrategyType.ROLLING_UPDATE, null, null, 30, null, null, null);
    World w = new World(V1, 1, s).revision(H1, V1, 1).status(null, H1);
    w.vm(H1, V1, NOW.minusSeconds(10), VMPhase.RUNNING, 0);
    ClusterRollout.Plan p = w.decide();
    assertThat(web(p).readyReplicas()).isEqualTo(1);
    assertThat(web(p).availableReplicas()).isZero();
    assertThat(p.requeueAfter()).isEqualTo(Duration.ofSeconds(20));
  }

  // ---- failure and rollback ----

  @Test
  void aNewVmThatRestartsFailsTheRevisionAndSaysItRollsBack() {
    World w = new World(V1, 3, rolling(1, 1)).revision(H1, V1, 1).revision(H2, V2, 2);
    w.healthy(H1, V1);
    w.healthy(H1, V1);
    w.spec(V2).status(H1, H2);
    VM bad = w.vm(H2, V2, null, VMPhase.FAILED, 1);
    ClusterRollout.Plan p = w.decide();
    assertThat(web(p).failedRevision()).isEqualTo(H2);
    assertThat(progressing(p).getStatus()).isEqualTo("False");
    assertThat(progressing(p).getReason()).isEqualTo("RolledBack");
    assertThat(progressing(p).getMessage()).contains(H2, bad.getMetadata().getName(), "rolled back to revision " + H1);
    assertThat(p.status().currentRevision()).isEqualTo(H1);
    assertThat(p.actions()).contains(new RolloutAction.MarkRevision(Revisions.revisionName("shop", "web", H2), "Failed",
        "VM " + bad.getMetadata().getName() + " failed: health check failed 3 times in a row"));
    assertThat(p.requeueAfter()).isZero();
  }

  @Test
  void aRollbackBringsBackTheGoodRevisionAndRemovesTheFailedVms() {
    World w = new World(V1, 3, rolling(1, 1)).revision(H1, V1, 1).revision(H2, V2, 2);
    w.healthy(H1, V1);
    w.healthy(H1, V1);
    w.spec(V2);
    VM bad = w.vm(H2, V2, null, VMPhase.FAILED, 1);
    w.templateStatus(new ClusterStatus.TemplateStatus("web", 3, 2, 1, 2, H1, H2, H2, w.cluster.getMetadata().getGeneration(),
        "VM failed", NOW.toString(), null, null, null));
    ClusterRollout.Plan p = w.decide();
    assertThat(creates(p, H1)).as("back to 3 of the good revision").isEqualTo(1);
    assertThat(creates(p, H2)).isZero();
    assertThat(deletes(p)).containsExactly(bad.getMetadata().getName());
    assertThat(progressing(p).getReason()).isEqualTo("RolledBack");
  }

  @Test
  void theRollbackTargetComesFromHistoryWhenTheGoodTemplateLeftTheSpec() {
    World w = new World(V2, 1, null).revision(H1, V1, 1).revision(H2, V2, 2);
    w.templateStatus(new ClusterStatus.TemplateStatus("web", 0, 0, 0, 0, H1, H2, H2, 1L, "VM failed", NOW.toString(), null, null, null));
    ClusterRollout.Plan p = w.decide();
    assertThat(p.actions()).contains(new RolloutAction.CreateVm("web", H1, V1));
  }

  @Test
  void aFailedRevisionIsNotTriedAgainUntilTheSpecChanges() {
    World w = new World(V2, 1, null).revision(H1, V1, 1).revision(H2, V2, 2);
    w.healthy(H1, V1);
    w.templateStatus(new ClusterStatus.TemplateStatus("web", 1, 1, 0, 1, H1, H2, H2, 1L, "VM failed", NOW.toString(), null, null, null));
    assertThat(creates(w.decide(), H2)).isZero();
    // a new generation (the spec was written again) tries it again
    w.cluster.getMetadata().setGeneration(2L);
    assertThat(creates(w.decide(), H2)).isEqualTo(1);
  }

  @Test
  void withoutAutoRollbackAFailedRevisionIsHeldAndSaidSo() {
    World w = new World(V1, 2, rolling(1, 1)).revision(H1, V1, 1).revision(H2, V2, 2).autoRollback(false);
    w.healthy(H1, V1);
    w.spec(V2).status(H1, H2);
    w.vm(H2, V2, null, VMPhase.FAILED, 1);
    ClusterRollout.Plan first = w.decide();
    assertThat(progressing(first).getReason()).isEqualTo("RevisionFailed");
    w.cluster.setStatus(first.status());
    ClusterRollout.Plan then = w.decide();
    assertThat(then.actions()).noneMatch(a -> a instanceof RolloutAction.CreateVm || a instanceof RolloutAction.DeleteVm);
  }

  @Test
  void aRolloutWithoutProgressPastItsDeadlineFails() {
    World w = new World(V1, 1, null).revision(H1, V1, 1).revision(H2, V2, 2);
    w.healthy(H1, V1);
    w.spec(V2);
    w.booting(H2, V2);
    w.templateStatus(new ClusterStatus.TemplateStatus("web", 2, 1, 1, 1, H1, H2, null, null, null, NOW.minusSeconds(601).toString(),
        null, null, null));
    ClusterRollout.Plan p = w.decide();
    assertThat(web(p).failureMessage()).startsWith("ProgressDeadlineExceeded");
    assertThat(progressing(p).getReason()).isEqualTo("RolledBack");
  }

  @Test
  void aFailedFirstRevisionHasNothingToRollBackTo() {
    World w = new World(V1, 1, null).revision(H1, V1, 1).status(null, H1);
    w.vm(H1, V1, null, VMPhase.FAILED, 2);
    ClusterRollout.Plan p = w.decide();
    assertThat(progressing(p).getReason()).isEqualTo("RevisionFailed");
    assertThat(p.status().currentRevision()).isNull();
  }

  // ---- canary ----

  static ClusterSpec.Strategy canary(ClusterSpec.Step... steps) {
    return new ClusterSpec.Strategy(RolloutStrategyType.CANARY, null, null, null, null, null, List.of(steps));
  }

  @Test
  void aCanaryRunsItsFirstStepThenStopsAtAPauseUntilPromoted() {
    World w = new World(V1, 3, canary(new ClusterSpec.Step(1, null, null), new ClusterSpec.Step(null, new ClusterSpec.Pause(null), null)))
        .revision(H1, V1, 1).revision(H2, V2, 2);
    VM oldest = w.healthy(H1, V1);
    w.healthy(H1, V1);
    w.healthy(H1, V1);
    w.spec(V2).status(H1, H2);
    ClusterRollout.Plan start = w.decide();
    assertThat(creates(start, H2)).isEqualTo(1);
    assertThat(deletes(start)).isEmpty();

    // the canary VM is available: one old VM makes way
    w.healthy(H2, V2);
    w.cluster.setStatus(start.status());
    ClusterRollout.Plan step = w.decide();
    assertThat(deletes(step)).containsExactly(oldest.getMetadata().getName());

    // with it gone, the pause holds everything
    w.vms.remove(oldest);
    w.cluster.setStatus(step.status());
    ClusterRollout.Plan paused = w.decide();
    assertThat(paused.actions()).noneMatch(a -> a instanceof RolloutAction.CreateVm || a instanceof RolloutAction.DeleteVm);
    assertThat(progressing(paused).getReason()).isEqualTo("Paused");
    assertThat(progressing(paused).getMessage()).contains("pctl rollout promote cluster/shop");
    assertThat(web(paused).currentStep()).isEqualTo(1);

    // promoted: the rest rolls
    w.cluster.setStatus(paused.status());
    w.cluster.getMetadata().getAnnotations().put(Cluster.PROMOTE, NOW.plusSeconds(5).toString());
    ClusterRollout.Plan promoted = w.decide(NOW.plusSeconds(5));
    assertThat(creates(promoted, H2)).isPositive();
  }

  @Test
  void aPauseWithSecondsEndsOnItsOwn() {
    World w = new World(V1, 2, canary(new ClusterSpec.Step(null, new ClusterSpec.Pause(60), null))).revision(H1, V1, 1).revision(H2, V2, 2);
    w.healthy(H1, V1);
    w.healthy(H1, V1);
    w.spec(V2);
    w.templateStatus(new ClusterStatus.TemplateStatus("web", 2, 2, 0, 2, H1, H2, null, null, null, NOW.toString(), 0,
        NOW.minusSeconds(20).toString(), null));
    ClusterRollout.Plan waiting = w.decide();
    assertThat(waiting.requeueAfter()).isEqualTo(Duration.ofSeconds(40));
    assertThat(creates(waiting, H2)).isZero();
    ClusterRollout.Plan done = w.decide(NOW.plusSeconds(41));
    assertThat(creates(done, H2)).isPositive();
  }

  @Test
  void aCanaryThatFailsItsAnalysisAbortsTheRevision() {
    World w = new World(V1, 2, canary(new ClusterSpec.Step(1, null, null), new ClusterSpec.Step(null, null, new ClusterSpec.Analysis(30))))
        .revision(H1, V1, 1).revision(H2, V2, 2);
    w.healthy(H1, V1);
    w.spec(V2);
    VM canary = w.vm(H2, V2, null, VMPhase.RUNNING, 0); // running but not Healthy
    w.templateStatus(new ClusterStatus.TemplateStatus("web", 2, 1, 1, 1, H1, H2, null, null, null, NOW.toString(), 1,
        NOW.minusSeconds(5).toString(), null));
    ClusterRollout.Plan p = w.decide();
    assertThat(web(p).failedRevision()).isEqualTo(H2);
    assertThat(web(p).failureMessage()).contains("analysis", canary.getMetadata().getName());
    assertThat(progressing(p).getReason()).isEqualTo("RolledBack");
    // and the next look removes the canary and restores the old replicas
    w.cluster.setStatus(p.status());
    ClusterRollout.Plan back = w.decide();
    assertThat(deletes(back)).containsExactly(canary.getMetadata().getName());
    assertThat(creates(back, H1)).isEqualTo(1);
  }

  // ---- blue-green ----

  static ClusterSpec.Strategy blueGreen(Boolean auto, Integer delay) {
    return new ClusterSpec.Strategy(RolloutStrategyType.BLUE_GREEN, null, null, null, auto, delay, null);
  }

  @Test
  void blueGreenStartsEveryNewVmBesideTheOldOnesAndKeepsTheOldUntilAllAreAvailable() {
    World w = new World(V1, 2, blueGreen(null, 0)).revision(H1, V1, 1).revision(H2, V2, 2);
    w.healthy(H1, V1);
    w.healthy(H1, V1);
    w.spec(V2).status(H1, H2);
    ClusterRollout.Plan p = w.decide();
    assertThat(creates(p, H2)).isEqualTo(2);
    assertThat(deletes(p)).isEmpty();
    w.healthy(H2, V2);
    w.booting(H2, V2);
    w.cluster.setStatus(p.status());
    assertThat(deletes(w.decide())).as("one new VM is not available yet").isEmpty();
  }

  @Test
  void blueGreenPromotesWhenAllAreAvailableAndScalesDownAfterTheDelay() {
    World w = new World(V1, 1, blueGreen(null, 30)).revision(H1, V1, 1).revision(H2, V2, 2);
    VM old = w.healthy(H1, V1);
    w.spec(V2).status(H1, H2);
    w.healthy(H2, V2);
    ClusterRollout.Plan promoted = w.decide();
    assertThat(promoted.status().currentRevision()).isEqualTo(H2);
    assertThat(deletes(promoted)).isEmpty();
    assertThat(promoted.requeueAfter()).isEqualTo(Duration.ofSeconds(30));
    w.cluster.setStatus(promoted.status());
    assertThat(deletes(w.decide(NOW.plusSeconds(31)))).containsExactly(old.getMetadata().getName());
  }

  @Test
  void blueGreenWithoutAutoPromotionWaitsForPromote() {
    World w = new World(V1, 1, blueGreen(false, 0)).revision(H1, V1, 1).revision(H2, V2, 2);
    w.healthy(H1, V1);
    w.spec(V2).status(H1, H2);
    w.healthy(H2, V2);
    ClusterRollout.Plan waiting = w.decide();
    assertThat(waiting.status().currentRevision()).isEqualTo(H1);
    assertThat(progressing(waiting).getReason()).isEqualTo("Paused");
    w.cluster.setStatus(waiting.status());
    w.cluster.getMetadata().getAnnotations().put(Cluster.PROMOTE, NOW.plusSeconds(1).toString());
    assertThat(w.decide(NOW.plusSeconds(1)).status().currentRevision()).isEqualTo(H2);
  }

  // ---- the rest ----

  @Test
  void aPausedClusterChangesNothing() {
    World w = new World(V1, 2, null).revision(H1, V1, 1).status(H1, H1).paused();
    w.healthy(H1, V1);
    w.spec(V2);
    ClusterRollout.Plan p = w.decide();
    assertThat(p.actions()).noneMatch(a -> a instanceof RolloutAction.CreateVm || a instanceof RolloutAction.DeleteVm);
    assertThat(progressing(p).getReason()).isEqualTo("Paused");
  }

  @Test
  void historyIsTrimmedToTheLimitAndItsClosuresUnpinned() {
    VMSpec v0 = spec("/nix/store/00000000000000000000000000000000-guest-v0");
    String h0 = Revisions.hash(v0);
    World w = new World(V2, 1, null).revision(h0, v0, 1).revision(H1, V1, 2).revision(H2, V2, 3).historyLimit(1).status(H2, H2);
    w.healthy(H2, V2);
    w.cluster.setStatus(new ClusterStatus(1L, H2, H2, 1, 1, 1, 1, w.cluster.getStatus().templates(), null,
        List.of(v0.boot().closure(), V1.boot().closure(), V2.boot().closure())));
    ClusterRollout.Plan p = w.decide();
    assertThat(p.actions()).contains(new RolloutAction.DeleteRevision(Revisions.revisionName("shop", "web", h0)),
        new RolloutAction.Unpin(v0.boot().closure()));
    assertThat(p.actions()).doesNotContain(new RolloutAction.Unpin(V1.boot().closure()));
    assertThat(p.status().pinnedClosures()).containsExactly(V1.boot().closure(), V2.boot().closure());
  }

  @Test
  void aClosureAnotherClusterPinsIsNotUnpinned() {
    VMSpec v0 = spec("/nix/store/00000000000000000000000000000000-guest-v0");
    World w = new World(V1, 1, null).revision(H1, V1, 1).status(H1, H1);
    w.healthy(H1, V1);
    w.cluster.setStatus(new ClusterStatus(1L, H1, H1, 1, 1, 1, 1, w.cluster.getStatus().templates(), null,
        List.of(v0.boot().closure(), V1.boot().closure())));
    w.pinnedElsewhere = Set.of(v0.boot().closure());
    assertThat(w.decide().actions()).doesNotContain(new RolloutAction.Unpin(v0.boot().closure()));
  }

  @Test
  void vmsOfATemplateNoLongerInTheSpecAreDeleted() {
    World w = new World(V1, 1, null).revision(H1, V1, 1).status(H1, H1);
    w.healthy(H1, V1);
    VM stray = w.healthy(H1, V1);
    stray.getMetadata().getLabels().put(Revisions.TEMPLATE_LABEL, "gone");
    assertThat(deletes(w.decide())).containsExactly(stray.getMetadata().getName());
  }

  @Test
  void aSteadyClusterWritesNothing() {
    World w = new World(V1, 1, null).revision(H1, V1, 1).status(H1, H1);
    w.healthy(H1, V1);
    ClusterRollout.Plan first = w.decide();
    w.cluster.setStatus(first.status());
    assertThat(w.decide().status()).isNull();
  }

  @Test
  void theFirstRevisionSkipsCanaryStepsAndBlueGreenPreviews() {
    World canary = new World(V1, 3, canary(new ClusterSpec.Step(1, null, null), new ClusterSpec.Step(null, new ClusterSpec.Pause(null), null)));
    assertThat(creates(canary.decide(), H1)).isEqualTo(3);
    World bg = new World(V1, 2, blueGreen(false, 30));
    bg.healthy(H1, V1);
    bg.healthy(H1, V1);
    bg.revision(H1, V1, 1).status(null, H1);
    assertThat(bg.decide().status().currentRevision()).isEqualTo(H1);
  }
}
