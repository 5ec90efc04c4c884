package dev.procurator.controllers.builds;

import static org.assertj.core.api.Assertions.assertThat;

import dev.procurator.api.runtime.Conditions;
import dev.procurator.api.runtime.Decision;
import dev.procurator.api.v1alpha1.Build;
import dev.procurator.api.v1alpha1.BuildAgreements;
import dev.procurator.api.v1alpha1.BuildPhase;
import dev.procurator.api.v1alpha1.BuildSpec;
import dev.procurator.api.v1alpha1.BuildStatus;
import dev.procurator.api.v1alpha1.Cluster;
import dev.procurator.api.v1alpha1.ClusterSpec;
import dev.procurator.api.v1alpha1.VMSpec;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The build controller's status, deploy and Events, from the queue's decision and the Cluster to deploy to. */
class BuildLoopTest {
  static final Instant NOW = BuildQueueTest.NOW;

  static Build succeeded(String name, int secondsOld, String closure, String deployedTo) {
    Build b = BuildQueueTest.build(name, secondsOld, BuildStatus.pending().withPhase(BuildPhase.SUCCEEDED, "done")
        .withResults(closure == null ? Map.of() : Map.of("web", closure), List.of(), null).withDeployedTo(deployedTo));
    b.setSpec(b.getSpec().withDeploy(new BuildSpec.Deploy("shop", "web", null)));
    return b;
  }

  static Cluster cluster(String closure) {
    Cluster c = new Cluster();
    c.setMetadata(new ObjectMetaBuilder().withNamespace("default").withName("shop").build());
    VMSpec spec = new VMSpec(1, "64Mi", null, new VMSpec.Boot(closure, null, null, null), null, null, null, null, null, null, null);
    c.setSpec(new ClusterSpec(List.of(new ClusterSpec.Template("web", 1, spec)), null, null, null, null, null));
    return c;
  }

  static Decision<BuildStatus, BuildLoop.Action> decide(Build b, Cluster c, List<Build> all) {
    return BuildLoop.decide(b, BuildQueue.decide(b, List.of(), all, NOW), c, all, NOW);
  }

  @Test
  void aSuccessfulBuildSetsItsTemplatesClosureThenSaysDeployedOnceTheClusterShowsIt() {
    Build b = succeeded("b", 10, "/nix/store/new", null);
    Decision<BuildStatus, BuildLoop.Action> first = decide(b, cluster("/nix/store/old"), List.of(b));
    assertThat(first.actions()).containsExactly(new BuildLoop.SetClosure("shop", "web", "/nix/store/new", null));
    assertThat(first.status().deployedTo()).isNull();
    assertThat(first.events()).isEmpty();
    assertThat(first.requeueAfter()).isEqualTo(BuildLoop.DEPLOY_RETRY);

    Decision<BuildStatus, BuildLoop.Action> then = decide(b, cluster("/nix/store/new"), List.of(b));
    assertThat(then.actions()).isEmpty();
    assertThat(then.status().deployedTo()).isEqualTo("shop/web");
    assertThat(Conditions.reason(then.status().conditions(), BuildAgreements.DEPLOYED)).isEqualTo("Deployed");
    assertThat(then.events()).singleElement().satisfies(e -> assertThat(e.reason()).isEqualTo("Deployed"));
    assertThat(then.requeueAfter()).isNull();
  }

  @Test
  void aBuildOlderThanOneThatDeployedTheSameTemplateIsSupersededAndTouchesNothing() {
    Build old = succeeded("old", 100, "/nix/store/old", null);
    Build newer = succeeded("newer", 10, "/nix/store/new", "shop/web");
    Decision<BuildStatus, BuildLoop.Action> d = decide(old, cluster("/nix/store/new"), List.of(old, newer));
    assertThat(d.actions()).isEmpty();
    assertThat(Conditions.reason(d.status().conditions(), BuildAgreements.DEPLOYED)).isEqualTo("Superseded");
    assertThat(d.requeueAfter()).isNull();
  }

  @Test
  void anOlderBuildStandsDownWhileTheNewerOnesDeployIsStillOnItsWay() {
    Build old = succeeded("old", 100, "/nix/store/old", null);
    Build newer = succeeded("newer", 10, "/nix/store/new", null);
    // the newer one has set the template already, and says Deployed only on its next pass
    Decision<BuildStatus, BuildLoop.Action> d = decide(old, cluster("/nix/store/new"), List.of(old, newer));
    assertThat(d.actions()).as("no write over the newer closure").isEmpty();
    assertThat(Conditions.reason(d.status().conditions(), BuildAgreements.DEPLOYED)).isEqualTo("Superseded");
    assertThat(decide(newer, cluster("/nix/store/old"), List.of(old, newer)).actions())
        .containsExactly(new BuildLoop.SetClosure("shop", "web", "/nix/store/new", null));
  }

  @Test
  void aMissingClusterOrTemplateIsSaidAndLookedAtAgain() {
    Build b = succeeded("b", 10, "/nix/store/new", null);
    Decision<BuildStatus, BuildLoop.Action> d = decide(b, null, List.of(b));
    assertThat(Conditions.reason(d.status().conditions(), BuildAgreements.DEPLOYED)).isEqualTo("ClusterNotFound");
    assertThat(d.requeueAfter()).isEqualTo(BuildLoop.DEPLOY_RETRY);
    Build other = succeeded("c", 10, "/nix/store/new", null);
    other.setSpec(other.getSpec().withDeploy(new BuildSpec.Deploy("shop", "api", null)));
    assertThat(Conditions.reason(decide(other, cluster("/x"), List.of(other)).status().conditions(), BuildAgreements.DEPLOYED))
        .isEqualTo("TemplateNotFound");
  }

  @Test
  void aPlacementIsAssumedAndAnnouncedAndALostBuilderSaidOnce() {
    Build queued = BuildQueueTest.build("q", 5, null);
    Decision<BuildStatus, BuildLoop.Action> placed = BuildLoop.decide(queued,
        BuildQueue.decide(queued, List.of(BuildQueueTest.node("n1", true, true, 1)), List.of(queued), NOW), null, List.of(queued), NOW);
    assertThat(placed.status().phase()).isEqualTo(BuildPhase.SCHEDULED);
    assertThat(placed.actions()).containsExactly(new BuildLoop.Assume());
    assertThat(placed.events()).singleElement().satisfies(e -> assertThat(e.reason()).isEqualTo("Scheduled"));

    Build running = BuildQueueTest.build("r", 5, BuildQueueTest.on("gone", BuildPhase.BUILDING));
    Decision<BuildStatus, BuildLoop.Action> lost = decide(running, null, List.of(running));
    assertThat(lost.status().phase()).isEqualTo(BuildPhase.PENDING);
    assertThat(lost.events()).singleElement().satisfies(e -> {
      assertThat(e.reason()).isEqualTo("BuilderLost");
      assertThat(e.type()).isEqualTo("Warning");
    });
  }
}
