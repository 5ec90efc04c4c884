package dev.procurator.controllers.builds;

import static org.assertj.core.api.Assertions.assertThat;

import dev.procurator.api.runtime.Conditions;
import dev.procurator.api.v1alpha1.Build;
import dev.procurator.api.v1alpha1.BuildAgreements;
import dev.procurator.api.v1alpha1.BuildPhase;
import dev.procurator.api.v1alpha1.BuildSpec;
import dev.procurator.api.v1alpha1.BuildStatus;
import dev.procurator.api.v1alpha1.Node;
import dev.procurator.api.v1alpha1.NodeSpec;
import dev.procurator.api.v1alpha1.NodeStatus;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class BuildQueueTest {
  static final Instant NOW = Instant.parse("2026-12-03T10:00:00Z");

  static Node node(String name, boolean builder, boolean ready, int slots) {
    Node n = new Node();
    n.setMetadata(new ObjectMetaBuilder().withName(name)
        .withLabels(builder ? Map.of(BuildAgreements.BUILDER_LABEL, "true", "zone", name) : Map.of("zone", name)).build());
    n.setSpec(new NodeSpec(false, null));
    n.setStatus(new NodeStatus(Map.of(), Map.of(BuildAgreements.BUILDS_RESOURCE, Integer.toString(slots)), null, null,
        List.of(Conditions.of("Ready", ready ? Conditions.TRUE : Conditions.FALSE, "x", "x", NOW)), false, 0));
    return n;
  }

  static Build build(String name, int secondsOld, BuildStatus status) {
    Build b = new Build();
    b.setMetadata(new ObjectMetaBuilder().withName(name).withNamespace("default").withGeneration(1L)
        .withCreationTimestamp(NOW.minusSeconds(secondsOld).toString()).build());
    b.setSpec(new BuildSpec("path:/src", List.of("web")));
    b.setStatus(status);
    return b;
  }

  static BuildStatus on(String node, BuildPhase phase) {
    return BuildStatus.pending().withPhase(phase, "").withNode(node);
  }

  @Test
  void aNewBuildGoesToAReadyBuilderWithRoom() {
    Build b = build("b", 1, null);
    var d = BuildQueue.decide(b, List.of(node("plain", false, true, 1), node("down", true, false, 1), node("up", true, true, 1)), List.of(b), NOW);
    assertThat(d.status().phase()).isEqualTo(BuildPhase.SCHEDULED);
    assertThat(d.status().nodeName()).isEqualTo("up");
    assertThat(Conditions.isTrue(d.status().conditions(), BuildAgreements.SCHEDULED)).isTrue();
  }

  @Test
  void withNoBuilderTheBuildWaitsAndSaysWhy() {
    Build b = build("b", 1, null);
    var d = BuildQueue.decide(b, List.of(node("plain", false, true, 1)), List.of(b), NOW);
    assertThat(d.status().phase()).isEqualTo(BuildPhase.PENDING);
    assertThat(Conditions.reason(d.status().conditions(), BuildAgreements.SCHEDULED)).isEqualTo("NoBuilder");
    assertThat(d.status().message()).contains("procurator.dev/builder=true");
  }

  @Test
  void theNodeSelectorNarrowsTheBuilders() {
    Build b = build("b", 1, null);
    b.setSpec(b.getSpec().withNodeSelector(Map.of("zone", "two")));
    var d = BuildQueue.decide(b, List.of(node("one", true, true, 1), node("two", true, true, 1)), List.of(b), NOW);
    assertThat(d.status().nodeName()).isEqualTo("two");
  }

  @Test
  void aFullBuilderQueuesTheRestOldestFirst() {
    Build running = build("running", 30, on("up", BuildPhase.BUILDING));
    Build older = build("older", 20, null);
    Build newer = build("newer", 10, null);
    List<Node> nodes = List.of(node("up", true, true, 1));
    var d = BuildQueue.decide(newer, nodes, List.of(running, older, newer), NOW);
    assertThat(d.status().phase()).isEqualTo(BuildPhase.PENDING);
    assertThat(Conditions.reason(d.status().conditions(), BuildAgreements.SCHEDULED)).isEqualTo("Queued");
    assertThat(d.status().message()).contains("1 Build(s) ahead");
    // with two slots, the older one takes the free one and the newer still waits
    var two = BuildQueue.decide(newer, List.of(node("up", true, true, 2)), List.of(running, older, newer), NOW);
    assertThat(two.status().phase()).isEqualTo(BuildPhase.PENDING);
    var olderTwo = BuildQueue.decide(older, List.of(node("up", true, true, 2)), List.of(running, older, newer), NOW);
    assertThat(olderTwo.status().nodeName()).isEqualTo("up");
  }

  @Test
  void aRetryWaitsForItsBackoff() {
    BuildStatus s = BuildStatus.pending().withRetry(2, NOW.plusSeconds(8).toString());
    Build b = build("b", 1, s);
    var d = BuildQueue.decide(b, List.of(node("up", true, true, 1)), List.of(b), NOW);
    assertThat(d.status().phase()).isEqualTo(BuildPhase.PENDING);
    assertThat(d.requeue()).isEqualTo(Duration.ofSeconds(8));
    assertThat(BuildQueue.decide(b, List.of(node("up", true, true, 1)), List.of(b), NOW.plusSeconds(9)).status().nodeName()).isEqualTo("up");
  }

  @Test
  void aBuildWhoseBuilderIsLostGoesBackToTheQueueAsItsNextAttempt() {
    Build b = build("b", 1, on("gone", BuildPhase.BUILDING));
    var d = BuildQueue.decide(b, List.of(node("down", true, false, 1)), List.of(b), NOW);
    assertThat(d.status().phase()).isEqualTo(BuildPhase.PENDING);
    assertThat(d.status().nodeName()).isNull();
    assertThat(d.status().attemptNumber()).isEqualTo(2);
    assertThat(d.status().message()).contains("builder gone is gone");
    Build onDown = build("b", 1, on("down", BuildPhase.EVALUATING));
    assertThat(BuildQueue.decide(onDown, List.of(node("down", true, false, 1)), List.of(onDown), NOW).status().message()).contains("not Ready");
  }

  @Test
  void aLostBuilderWithNoRetriesLeftFailsTheBuild() {
    BuildStatus s = on("gone", BuildPhase.BUILDING);
    s = new BuildStatus(s.phase(), null, s.nodeName(), 3, null, null, null, null, null, null, null, null, null, null, null);
    Build b = build("b", 1, s);
    var d = BuildQueue.decide(b, List.of(), List.of(b), NOW);
    assertThat(d.status().phase()).isEqualTo(BuildPhase.FAILED);
    assertThat(d.status().message()).contains("no retries left after 3 attempts");
  }

  @Test
  void aSucceededBuildWithDeployIsDeployedOnce() {
    BuildStatus done = BuildStatus.pending().withPhase(BuildPhase.SUCCEEDED, "").withResults(Map.of("web", "/nix/store/x"), List.of(), null);
    Build b = build("b", 1, done);
    b.setSpec(b.getSpec().withDeploy(new BuildSpec.Deploy("shop", "web", null)));
    assertThat(BuildQueue.decide(b, List.of(), List.of(b), NOW).deploy()).isTrue();
    b.setStatus(done.withDeployedTo("shop/web"));
    assertThat(BuildQueue.decide(b, List.of(), List.of(b), NOW).deploy()).isFalse();
    Build failed = build("f", 1, BuildStatus.pending().withPhase(BuildPhase.FAILED, "boom"));
    failed.setSpec(failed.getSpec().withDeploy(new BuildSpec.Deploy("shop", "web", null)));
    assertThat(BuildQueue.decide(failed, List.of(), List.of(failed), NOW).deploy()).isFalse();
  }

  @Test
  void retriesBackOffExponentiallyUpToALimit() {
    List<Duration> delays = new ArrayList<>();
    for (int i = 1; i <= 10; i++) {
      delays.add(BuildAgreements.retryDelay(i));
    }
    assertThat(delays.subList(0, 3)).containsExactly(Duration.ofSeconds(5), Duration.ofSeconds(10), Duration.ofSeconds(20));
    assertThat(delays.getLast()).isEqualTo(BuildAgreements.MAX_RETRY_DELAY);
  }
}
