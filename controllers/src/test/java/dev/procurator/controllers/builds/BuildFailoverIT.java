package dev.procurator.controllers.builds;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.procurator.api.v1alpha1.Build;
import dev.procurator.api.v1alpha1.BuildAgreements;
import dev.procurator.api.v1alpha1.BuildPhase;
import dev.procurator.api.v1alpha1.BuildSpec;
import dev.procurator.api.v1alpha1.BuildStatus;
import dev.procurator.api.v1alpha1.Hypervisor;
import dev.procurator.api.v1alpha1.Node;
import dev.procurator.api.v1alpha1.NodeAgreements;
import dev.procurator.api.v1alpha1.NodeSpec;
import dev.procurator.api.v1alpha1.NodeStatus;
import dev.procurator.apiserver.testing.TestApiServer;
import dev.procurator.controllers.ControllerManager;
import io.fabric8.kubernetes.api.model.ConditionBuilder;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.api.model.coordination.v1.LeaseBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.time.Clock;
import java.time.Duration;
import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * A controller replica that takes the lead (a failover, or a restart) finds a Build running on a
 * healthy builder. It must leave that Build alone: a decision made before the Node cache holds the
 * builder would see no builder and send the Build back to the queue as lost.
 */
class BuildFailoverIT {
  private static Build build(KubernetesClient c, String name) {
    Build b = new Build();
    b.setMetadata(new ObjectMetaBuilder().withNamespace("default").withName(name).build());
    b.setSpec(new BuildSpec("path:/nowhere", List.of("default")));
    return c.resources(Build.class).inNamespace("default").resource(b).create();
  }

  @Test
  void aNewLeaderLeavesABuildOnAHealthyBuilderRunning() throws Exception {
    try (TestApiServer api = TestApiServer.embedded()) {
      KubernetesClient c = api.client();
      Node n = new Node();
      n.setMetadata(new ObjectMetaBuilder().withName("builder-1").withLabels(Map.of(BuildAgreements.BUILDER_LABEL, "true")).build());
      n.setSpec(new NodeSpec(false, null));
      Node created = c.resources(Node.class).resource(n).create();
      created.setStatus(new NodeStatus(Map.of("cpu", "8", "memory", "1Gi"), Map.of("cpu", "8", "memory", "1Gi", BuildAgreements.BUILDS_RESOURCE, "2"),
          null, List.of(Hypervisor.QEMU), List.of(new ConditionBuilder().withType("Ready").withStatus("True").withReason("AgentRunning")
              .withLastTransitionTime("2026-11-22T00:00:00Z").build()), false, 0));
      c.resources(Node.class).resource(created).updateStatus();
      c.leases().inNamespace(NodeAgreements.LEASE_NAMESPACE).resource(new LeaseBuilder().withNewMetadata().withName("builder-1").endMetadata()
          .withNewSpec().withHolderIdentity("builder-1").withLeaseDurationSeconds(3600).withRenewTime(ZonedDateTime.now(ZoneOffset.UTC))
          .endSpec().build()).create();

      // the Build a previous leader placed, now building there
      Build running = build(c, "running");
      running.setStatus(BuildStatus.pending().withPhase(BuildPhase.BUILDING, "building on builder-1").withNode("builder-1"));
      c.resources(Build.class).resource(running).updateStatus();
      // and one waiting, which the new leader places: proof that its build loop has run
      build(c, "queued");

      try (ControllerManager m = new ControllerManager(c, ControllerManager.Config.defaults("new-leader"), Clock.systemUTC()).start()) {
        await().atMost(Duration.ofSeconds(60)).untilAsserted(() -> {
          BuildStatus queued = c.resources(Build.class).inNamespace("default").withName("queued").get().getStatus();
          assertThat(queued).isNotNull();
          assertThat(queued.phase()).isEqualTo(BuildPhase.SCHEDULED);
          assertThat(queued.nodeName()).isEqualTo("builder-1");
        });
        BuildStatus after = c.resources(Build.class).inNamespace("default").withName("running").get().getStatus();
        assertThat(after.phase()).as("the Build on the healthy builder: %s", after.message()).isEqualTo(BuildPhase.BUILDING);
        assertThat(after.nodeName()).isEqualTo("builder-1");
        assertThat(after.attemptNumber()).isEqualTo(1);
        assertThat(c.v1().events().inNamespace("default").withField("involvedObject.name", "running").list().getItems())
            .noneSatisfy(e -> assertThat(e.getReason()).isEqualTo("BuilderLost"));
      }
    }
  }
}
