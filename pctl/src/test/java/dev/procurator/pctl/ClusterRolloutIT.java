package dev.procurator.pctl;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.procurator.apiserver.testing.TestNames;
import dev.procurator.api.runtime.Conditions;
import dev.procurator.api.v1alpha1.Cluster;
import dev.procurator.api.v1alpha1.ClusterSpec;
import dev.procurator.api.v1alpha1.HealthCheckType;
import dev.procurator.api.v1alpha1.Revisions;
import dev.procurator.api.v1alpha1.RolloutStrategyType;
import dev.procurator.api.v1alpha1.VM;
import dev.procurator.api.v1alpha1.VMPhase;
import dev.procurator.api.v1alpha1.VMSpec;
import dev.procurator.apiserver.testing.TestApiServer;
import dev.procurator.controllers.ControllerManager;
import dev.procurator.nodeagent.NodeAgent;
import dev.procurator.nodeagent.testing.Guest;
import dev.procurator.nodeagent.vm.VmLoop;
import io.fabric8.kubernetes.api.model.Condition;
import io.fabric8.kubernetes.api.model.IntOrString;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.Watch;
import io.fabric8.kubernetes.client.Watcher;
import io.fabric8.kubernetes.client.WatcherException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * Cluster rollouts with real microVMs (the example guest under TCG), an API server, a node agent
 * and the controllers: rolling, a bad revision rolled back, canary pause and promote, a canary
 * that fails its analysis, and blue-green. A template whose health check asks for a path the guest
 * answers 404 is the bad revision; two good revisions differ in their kernel command line.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ClusterRolloutIT {
  private TestApiServer api;
  private KubernetesClient client;
  private NodeAgent agent;
  private ControllerManager controllers;
  private Path data;
  private Path images;
  private String ns;

  @BeforeAll
  void start() throws Exception {
    images = Guest.images();
    api = TestApiServer.embedded();
    client = api.client();
    data = Files.createTempDirectory("cluster-it");
    VmLoop.Settings s = new VmLoop.Settings(Duration.ofMinutes(2), Duration.ofSeconds(10), Duration.ofMillis(500),
        Duration.ofSeconds(5), 1 << 20, Duration.ofSeconds(30));
    agent = new NodeAgent(client, NodeAgent.Config.of("node-a", data).withImagesDir(images).withSettings(s), Clock.systemUTC()).start();
    controllers = new ControllerManager(client, ControllerManager.Config.defaults("it")
        .withLeaderTimings(Duration.ofSeconds(4), Duration.ofSeconds(3), Duration.ofMillis(300)), Clock.systemUTC()).start();
    await().atMost(Duration.ofSeconds(20)).until(controllers::leading);
  }

  @AfterAll
  void stop() throws Exception {
    controllers.close();
    agent.close();
    Guest.killMachines(data);
    api.close();
  }

  @BeforeEach
  void namespace() {
    ns = TestNames.unique("c");
  }

  @AfterEach
  void cleanUp() {
    // the Cluster's VMs go with it (garbage collection); their machines power off
    client.resources(Cluster.class).inNamespace(ns).delete();
    await().atMost(Duration.ofSeconds(90)).until(() -> client.resources(VM.class).inNamespace(ns).list().getItems().isEmpty());
  }

  // ---- what the tests build ----

  static VMSpec guest(String revisionMark, String healthPath) {
    return new VMSpec(1, "128Mi", null, new VMSpec.Boot(null, "hello/vmlinux", "hello/initrd.cpio.gz", "console=ttyS0 rev=" + revisionMark),
        null, null, new VMSpec.Network(null, List.of(new VMSpec.PortForward(8080, null))), null,
        List.of(new VMSpec.HealthCheck(HealthCheckType.HTTP, 8080, healthPath, null, 1, 2, 2)), null, 60);
  }

  /** The example guest watched by an exec check, which its guest agent runs. */
  static VMSpec execGuest(String revisionMark, String file) {
    return new VMSpec(1, "128Mi", null, new VMSpec.Boot(null, "hello/vmlinux", "hello/initrd.cpio.gz", "console=ttyS0 rev=" + revisionMark),
        null, null, null, null, List.of(new VMSpec.HealthCheck(HealthCheckType.EXEC, null, null, List.of("test", "-f", file), 1, 2, 2)),
        null, 60);
  }

  static final VMSpec GOOD_1 = guest("1", "/healthz");
  static final VMSpec GOOD_2 = guest("2", "/healthz");
  static final VMSpec BAD = guest("bad", "/no-such-page");

  private Cluster cluster(String name, int replicas, VMSpec spec, ClusterSpec.Strategy strategy) {
    Cluster c = new Cluster();
    c.setMetadata(new ObjectMetaBuilder().withName(name).withNamespace(ns).build());
    c.setSpec(new ClusterSpec(List.of(new ClusterSpec.Template("web", replicas, spec)), strategy, null, null, 300, null));
    return client.resource(c).create();
  }

  private void update(String name, VMSpec spec) {
    // an edit is a read and a write: the controller's status writes in between are a conflict, tried again as kubectl edit would be
    for (int attempt = 1; ; attempt++) {
      try {
        client.resources(Cluster.class).inNamespace(ns).withName(name).edit(c -> {
          ClusterSpec s = c.getSpec();
          c.setSpec(new ClusterSpec(List.of(s.templates().getFirst().withSpec(spec)), s.strategy(), s.autoRollback(), s.revisionHistoryLimit(),
              s.progressDeadlineSeconds(), s.paused()));
          return c;
        });
        return;
      } catch (io.fabric8.kubernetes.client.KubernetesClientException e) {
        if (e.getCode() != 409 || attempt == 10) {
          throw e;
        }
      }
    }
  }

  private Cluster get(String name) {
    return client.resources(Cluster.class).inNamespace(ns).withName(name).get();
  }

  private String progress(String name) {
    Cluster c = get(name);
    return c.getStatus() == null ? "" : Conditions.reason(c.getStatus().conditions(), "Progressing");
  }

  /** The revision of the Cluster's template as stored: its spec after the server filled in defaults. */
  private String revisionOf(String name) {
    return Revisions.hash(get(name).getSpec().templates().getFirst().spec());
  }

  /** Waits until the Cluster's current spec is rolled out; returns its revision. */
  private String awaitComplete(String name) {
    String hash = revisionOf(name);
    await().atMost(Duration.ofMinutes(3)).untilAsserted(() -> {
      Cluster c = get(name);
      assertThat(c.getStatus()).isNotNull();
      assertThat(c.getStatus().observedGeneration()).isEqualTo(c.getMetadata().getGeneration());
      assertThat(c.getStatus().currentRevision()).isEqualTo(hash);
      assertThat(Conditions.reason(c.getStatus().conditions(), "Progressing")).isEqualTo("RolloutComplete");
    });
    return hash;
  }

  private List<VM> vms() {
    return client.resources(VM.class).inNamespace(ns).list().getItems();
  }

  private static boolean healthy(VM vm) {
    return vm.getMetadata().getDeletionTimestamp() == null && vm.getStatus() != null && vm.getStatus().phase() == VMPhase.RUNNING
        && Conditions.isTrue(vm.getStatus().conditions(), "Healthy");
  }

  private static String revision(VM vm) {
    return vm.getMetadata().getLabels().get(Revisions.REVISION_LABEL);
  }

  /** Follows the namespace's VMs as a watch shows them, keeping each one's latest state. */
  private final class Recorder implements AutoCloseable {
    final Map<String, VM> latest = new ConcurrentHashMap<>();
    final List<Integer> healthyCounts = new CopyOnWriteArrayList<>();
    final List<String> log = new CopyOnWriteArrayList<>();
    /** For each VM whose deletion was seen: how many VMs of each revision were healthy then. */
    final Map<String, Map<String, Long>> healthyAtDeletion = new ConcurrentHashMap<>();
    final Watch watch;

    Recorder() {
      vms().forEach(v -> latest.put(v.getMetadata().getName(), v));
      watch = client.resources(VM.class).inNamespace(ns).watch(new Watcher<>() {
        @Override
        public void eventReceived(Action action, VM vm) {
          VM before = latest.get(vm.getMetadata().getName());
          if (action == Action.DELETED) {
            latest.remove(vm.getMetadata().getName());
          } else {
            latest.put(vm.getMetadata().getName(), vm);
          }
          if (vm.getMetadata().getDeletionTimestamp() != null && (before == null || before.getMetadata().getDeletionTimestamp() == null)) {
            healthyAtDeletion.put(vm.getMetadata().getName(), latest.values().stream().filter(ClusterRolloutIT::healthy)
                .collect(java.util.stream.Collectors.groupingBy(ClusterRolloutIT::revision, java.util.stream.Collectors.counting())));
          }
          healthyCounts.add((int) latest.values().stream().filter(ClusterRolloutIT::healthy).count());
          log.add(action + " " + vm.getMetadata().getName() + " " + (vm.getStatus() == null ? "" : vm.getStatus().phase())
              + (vm.getMetadata().getDeletionTimestamp() != null ? " deleting" : ""));
        }

        @Override
        public void onClose(WatcherException cause) {}
      });
    }

    @Override
    public void close() {
      watch.close();
    }
  }


  record Run(int code, String out, String err) {}

  private Run pctl(String... args) throws Exception {
    PctlRun r = PctlRun.run(api.kubeconfig(), args);
    return new Run(r.code(), r.out(), r.err());
  }

  // ---- the tests ----

  @Test
  void aRollingUpdateNeverHasFewerThanTwoHealthyVmsAndEndsOnTheNewRevision() throws Exception {
    ClusterSpec.Strategy rolling = new ClusterSpec.Strategy(RolloutStrategyType.ROLLING_UPDATE, new IntOrString(1), new IntOrString(1),
        null, null, null, null);
    cluster("web", 3, GOOD_1, rolling);
    String first = awaitComplete("web");
    String second;
    try (Recorder r = new Recorder()) {
      update("web", GOOD_2);
      second = awaitComplete("web");
      assertThat(r.healthyCounts).as("healthy VMs after each change: " + r.log).isNotEmpty().allSatisfy(n -> assertThat(n).isGreaterThanOrEqualTo(2));
    }
    List<VM> end = vms().stream().filter(v -> v.getMetadata().getDeletionTimestamp() == null).toList();
    assertThat(end).hasSize(3).allSatisfy(v -> assertThat(revision(v)).isEqualTo(second));
    assertThat(pctl("rollout", "status", "cluster/web", "-n", ns).code()).isZero();
    Run history = pctl("rollout", "history", "cluster/web", "-n", ns);
    assertThat(history.out()).contains(first, second, "Available (current)");
  }

  @Test
  void aBadRevisionRollsBackOnItsOwnAndRolloutStatusExitsOne() throws Exception {
    cluster("shop", 2, GOOD_1, null);
    String good = awaitComplete("shop");
    update("shop", BAD);
    String bad = revisionOf("shop");
    Run status = pctl("rollout", "status", "cluster/shop", "-n", ns, "--timeout", "240");
    assertThat(status.code()).as(status.out() + status.err()).isEqualTo(1);
    assertThat(status.err()).contains("RolledBack", bad, "rolled back to revision " + good);
    Cluster c = get("shop");
    assertThat(c.getStatus().currentRevision()).isEqualTo(good);
    assertThat(c.getSpec().templates().getFirst().spec().healthChecks().getFirst().path()).as("the failed template stays in the spec")
        .isEqualTo("/no-such-page");
    // the old revision's VMs are the ones that run
    await().atMost(Duration.ofMinutes(3)).untilAsserted(() -> assertThat(vms()).hasSize(2)
        .allSatisfy(v -> {
          assertThat(revision(v)).isEqualTo(good);
          assertThat(healthy(v)).isTrue();
        }));
    assertThat(pctl("rollout", "history", "cluster/shop", "-n", ns).out()).contains("Failed: VM");
  }

  @Test
  void aRevisionWhoseExecCheckFailsRollsBack() throws Exception {
    cluster("worker", 1, execGuest("1", "/www/healthz"), null);
    String good = awaitComplete("worker");
    update("worker", execGuest("bad", "/www/no-such-file"));
    String bad = revisionOf("worker");
    Run status = pctl("rollout", "status", "cluster/worker", "-n", ns, "--timeout", "240");
    assertThat(status.code()).as(status.out() + status.err()).isEqualTo(1);
    assertThat(status.err()).contains("RolledBack", bad, "rolled back to revision " + good);
    assertThat(get("worker").getStatus().currentRevision()).isEqualTo(good);
    await().atMost(Duration.ofMinutes(3)).untilAsserted(() -> assertThat(vms()).singleElement().satisfies(v -> {
      assertThat(revision(v)).isEqualTo(good);
      assertThat(healthy(v)).isTrue();
    }));
  }

  @Test
  void rolloutUndoGoesBackToThePreviousRevisionAndToAChosenOne() throws Exception {
    cluster("undo", 1, GOOD_1, null);
    String first = awaitComplete("undo");
    update("undo", GOOD_2);
    String second = awaitComplete("undo");
    awaitVmsOf(second);

    // no revision named: the one before the current
    Run undo = pctl("rollout", "undo", "cluster/undo", "-n", ns);
    assertThat(undo.code()).as(undo.err()).isZero();
    assertThat(undo.err()).isEmpty();
    assertThat(undo.out()).contains("rolled back", first);
    assertThat(awaitComplete("undo")).isEqualTo(first);
    awaitVmsOf(first);

    // a revision named by its number, as rollout history lists it
    long secondNumber = client.resources(io.fabric8.kubernetes.api.model.apps.ControllerRevision.class).inNamespace(ns)
        .withLabel(Revisions.REVISION_LABEL, second).list().getItems().getFirst().getRevision();
    Run history = pctl("rollout", "history", "cluster/undo", "-n", ns);
    assertThat(history.out()).containsPattern("web\\s+" + secondNumber + "\\s+" + second);
    Run to = pctl("rollout", "undo", "cluster/undo", "-n", ns, "--to-revision", Long.toString(secondNumber));
    assertThat(to.code()).as(to.err()).isZero();
    assertThat(to.out()).contains("to revision " + secondNumber, second);
    assertThat(awaitComplete("undo")).isEqualTo(second);
    awaitVmsOf(second);

    // the template already matches: nothing to do, and said so
    Run again = pctl("rollout", "undo", "cluster/undo", "-n", ns, "--to-revision", Long.toString(secondNumber));
    assertThat(again.code()).isZero();
    assertThat(again.out()).contains("skipped rollback");
    Run missing = pctl("rollout", "undo", "cluster/undo", "-n", ns, "--to-revision", "99");
    assertThat(missing.code()).isEqualTo(1);
    assertThat(missing.err()).contains("has no revision 99");
  }

  /** Waits until the Cluster's only live VM is of {@code revision}, and healthy. */
  private void awaitVmsOf(String revision) {
    if (revision == null) {
      return;
    }
    await().atMost(Duration.ofMinutes(3)).untilAsserted(() -> assertThat(vms().stream().filter(v -> v.getMetadata().getDeletionTimestamp() == null))
        .singleElement().satisfies(v -> {
          assertThat(revision(v)).isEqualTo(revision);
          assertThat(healthy(v)).isTrue();
        }));
  }

  @Test
  void rolloutPauseHoldsAChangeResumeRollsItAndRestartReplacesEveryVm() throws Exception {
    cluster("steer", 1, GOOD_1, null);
    String first = awaitComplete("steer");
    awaitVmsOf(first);

    Run pause = pctl("rollout", "pause", "cluster/steer", "-n", ns);
    assertThat(pause.code()).as(pause.err()).isZero();
    assertThat(pause.err()).isEmpty();
    assertThat(get("steer").getSpec().paused()).isTrue();
    update("steer", GOOD_2);
    String second = revisionOf("steer");
    // paused: the change is seen, and nothing of it is rolled out
    await().atMost(Duration.ofSeconds(30)).until(() -> progress("steer").equals("Paused"));
    await().during(Duration.ofSeconds(5)).atMost(Duration.ofSeconds(10)).until(() -> progress("steer").equals("Paused")
        && vms().stream().allMatch(v -> revision(v).equals(first)));

    Run resume = pctl("rollout", "resume", "cluster/steer", "-n", ns);
    assertThat(resume.code()).as(resume.err()).isZero();
    assertThat(get("steer").getSpec().paused()).as("resume clears spec.paused").isNotEqualTo(Boolean.TRUE);
    assertThat(awaitComplete("steer")).isEqualTo(second);
    awaitVmsOf(second);

    // restart: a new VM in place of each, of the same revision
    java.util.Set<String> before = vms().stream().map(v -> v.getMetadata().getName()).collect(java.util.stream.Collectors.toSet());
    Run restart = pctl("rollout", "restart", "cluster/steer", "-n", ns);
    assertThat(restart.code()).as(restart.err()).isZero();
    await().atMost(Duration.ofMinutes(3)).untilAsserted(() -> assertThat(vms().stream().filter(v -> v.getMetadata().getDeletionTimestamp() == null))
        .singleElement().satisfies(v -> {
          assertThat(before).as("a new VM").doesNotContain(v.getMetadata().getName());
          assertThat(revision(v)).isEqualTo(second);
          assertThat(healthy(v)).isTrue();
        }));
  }

  @Test
  void aCanaryStopsAtItsPauseAndGoesOnAfterPromote() throws Exception {
    ClusterSpec.Strategy canary = new ClusterSpec.Strategy(RolloutStrategyType.CANARY, null, null, null, null, null,
        List.of(new ClusterSpec.Step(1, null, null), new ClusterSpec.Step(null, new ClusterSpec.Pause(null), null)));
    cluster("can", 2, GOOD_1, canary);
    awaitComplete("can");
    update("can", GOOD_2);
    String canaryRevision = revisionOf("can");
    await().atMost(Duration.ofMinutes(2)).until(() -> progress("can").equals("Paused"));
    // paused: one VM of the new revision, one of the old, and it stays so
    await().during(Duration.ofSeconds(4)).atMost(Duration.ofSeconds(10)).until(() -> progress("can").equals("Paused")
        && vms().stream().filter(v -> revision(v).equals(canaryRevision)).count() == 1);
    Run promote = pctl("rollout", "promote", "cluster/can", "-n", ns);
    assertThat(promote.code()).as(promote.err()).isZero();
    awaitComplete("can");
    await().atMost(Duration.ofMinutes(2)).untilAsserted(() -> assertThat(vms()).hasSize(2)
        .allSatisfy(v -> assertThat(revision(v)).isEqualTo(canaryRevision)));
  }

  /**
   * A revision that passes its checks at first and stops answering them 30 s after boot, with a
   * failure threshold so high that its VM is never failed for it: only an analysis catches it.
   */
  static final VMSpec SOURING = new VMSpec(1, "128Mi", null,
      new VMSpec.Boot(null, "hello/vmlinux", "hello/initrd.cpio.gz", "console=ttyS0 rev=souring procurator.healthy-for=30"),
      null, null, new VMSpec.Network(null, List.of(new VMSpec.PortForward(8080, null))), null,
      List.of(new VMSpec.HealthCheck(HealthCheckType.HTTP, 8080, "/healthz", null, 1, 2, 1000)), null, 60);

  @Test
  void aCanaryThatFailsItsAnalysisAbortsAndRemovesItsCanaryVms() throws Exception {
    ClusterSpec.Strategy canary = new ClusterSpec.Strategy(RolloutStrategyType.CANARY, null, null, null, null, null,
        List.of(new ClusterSpec.Step(1, null, null), new ClusterSpec.Step(null, null, new ClusterSpec.Analysis(120))));
    cluster("ana", 2, GOOD_1, canary);
    String good = awaitComplete("ana");
    update("ana", SOURING);
    String souring = revisionOf("ana");
    await().atMost(Duration.ofMinutes(3)).until(() -> progress("ana").equals("RolledBack"));
    // the analysis did it: its VM was Healthy once (step 1 passed), then not, and never failed
    Condition progressing = Conditions.find(get("ana").getStatus().conditions(), "Progressing").orElseThrow();
    assertThat(progressing.getMessage()).contains(souring, "analysis: VM ", "was not Healthy during the 120 s analysis");
    await().atMost(Duration.ofMinutes(3)).untilAsserted(() -> assertThat(vms()).hasSize(2).allSatisfy(v -> {
      assertThat(revision(v)).isEqualTo(good);
      assertThat(healthy(v)).isTrue();
    }));
  }

  @Test
  void blueGreenKeepsTheOldVmsUntilTheNewOnesAreAllAvailable() throws Exception {
    ClusterSpec.Strategy blueGreen = new ClusterSpec.Strategy(RolloutStrategyType.BLUE_GREEN, null, null, null, null, 0, null);
    cluster("bg", 2, GOOD_1, blueGreen);
    String oldHash = awaitComplete("bg");
    try (Recorder r = new Recorder()) {
      update("bg", GOOD_2);
      String newHash = awaitComplete("bg");
      await().atMost(Duration.ofMinutes(2)).untilAsserted(() -> assertThat(vms()).hasSize(2)
          .allSatisfy(v -> assertThat(revision(v)).isEqualTo(newHash)));
      // every old VM was deleted only once both new ones were healthy
      assertThat(r.healthyAtDeletion).as(String.join("\n", r.log)).isNotEmpty().allSatisfy((vm, healthyByRevision) -> {
        assertThat(vm).contains(oldHash);
        assertThat(healthyByRevision.getOrDefault(newHash, 0L)).isEqualTo(2L);
      });
    }
  }
}
