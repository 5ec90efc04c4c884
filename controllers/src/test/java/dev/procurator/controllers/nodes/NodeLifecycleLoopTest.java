package dev.procurator.controllers.nodes;

import static org.assertj.core.api.Assertions.assertThat;

import dev.procurator.api.runtime.Conditions;
import dev.procurator.api.runtime.Decision;
import dev.procurator.api.v1alpha1.Node;
import dev.procurator.api.v1alpha1.NodeStatus;
import dev.procurator.api.v1alpha1.VM;
import dev.procurator.api.v1alpha1.VMPhase;
import dev.procurator.api.v1alpha1.VMSpec;
import dev.procurator.api.v1alpha1.VMStatus;
import io.fabric8.kubernetes.api.model.Condition;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.api.model.coordination.v1.Lease;
import io.fabric8.kubernetes.api.model.coordination.v1.LeaseBuilder;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import org.junit.jupiter.api.Test;

/** What the node lifecycle controller decides from a Node, its Lease and the time (NodeHealth's table). */
class NodeLifecycleLoopTest {
  static final Instant T0 = Instant.parse("2026-03-01T10:00:00Z");
  static final Duration GRACE = Duration.ofSeconds(60);

  static Node node(Condition ready) {
    Node n = new Node();
    n.setMetadata(new ObjectMetaBuilder().withName("n1").withCreationTimestamp(T0.minusSeconds(3600).toString()).build());
    n.setStatus(new NodeStatus(null, null, null, null, ready == null ? null : List.of(ready), null, 1));
    return n;
  }

  static Lease lease(Instant renewed, int seconds) {
    return new LeaseBuilder().withNewMetadata().withName("n1").endMetadata().withNewSpec()
        .withRenewTime(renewed.atZone(ZoneOffset.UTC)).withLeaseDurationSeconds(seconds).endSpec().build();
  }

  static VM vm(String name, boolean deleting) {
    VM v = new VM();
    v.setMetadata(new ObjectMetaBuilder().withNamespace("default").withName(name).withGeneration(2L)
        .withDeletionTimestamp(deleting ? T0.toString() : null).build());
    v.setSpec(new VMSpec(1, "64Mi", null, new VMSpec.Boot(null, "k", null, null), "n1", null, null, null, null, null, null));
    v.setStatus(new VMStatus(VMPhase.RUNNING, "n1", 2L, List.of(Conditions.of("Healthy", Conditions.TRUE, "Passing", "ok", T0)), null, 3, null));
    return v;
  }

  @Test
  void aLiveLeaseChangesNothingAndIsLookedAtWhenItWouldExpire() {
    Decision<NodeStatus, NodeLifecycleLoop.Evict> d = NodeLifecycleLoop.decide(node(Conditions.of("Ready", "True", "Up", "", T0)),
        lease(T0, 40), List.of(vm("a", false)), T0.plusSeconds(10), GRACE);
    assertThat(d.status()).isNull();
    assertThat(d.actions()).isEmpty();
    assertThat(d.events()).isEmpty();
    assertThat(d.requeueAfter()).isEqualTo(Duration.ofSeconds(30).plusMillis(100));
  }

  @Test
  void anExpiredLeaseMakesTheNodeNotReadyOnceButMovesNothingWithinTheGracePeriod() {
    Instant now = T0.plusSeconds(41);
    Decision<NodeStatus, NodeLifecycleLoop.Evict> d = NodeLifecycleLoop.decide(node(Conditions.of("Ready", "True", "Up", "", T0)),
        lease(T0, 40), List.of(vm("a", false)), now, GRACE);
    assertThat(Conditions.find(d.status().conditions(), "Ready")).hasValueSatisfying(c -> {
      assertThat(c.getStatus()).isEqualTo("False");
      assertThat(c.getReason()).isEqualTo("NodeLeaseExpired");
      assertThat(c.getMessage()).contains("last renewed its lease at 2026-03-01T10:00:00Z");
    });
    assertThat(d.status().runningVMs()).as("what the agent wrote stays").isEqualTo(1);
    assertThat(d.events()).singleElement().satisfies(e -> assertThat(e.reason()).isEqualTo("NodeNotReady"));
    assertThat(d.actions()).isEmpty();
    assertThat(d.requeueAfter()).isEqualTo(GRACE.plusMillis(100));

    // the next pass, Ready=False already written: nothing to write until the grace period ends
    Node notReady = node(Conditions.of("Ready", "False", "NodeLeaseExpired", "x", now));
    Decision<NodeStatus, NodeLifecycleLoop.Evict> later = NodeLifecycleLoop.decide(notReady, lease(T0, 40), List.of(vm("a", false)),
        now.plusSeconds(59), GRACE);
    assertThat(later.status()).isNull();
    assertThat(later.events()).isEmpty();
    assertThat(later.actions()).isEmpty();
  }

  @Test
  void afterTheGracePeriodEveryVmIsMovedAndADeletedOneOnlyLetGo() {
    Instant since = T0.plusSeconds(41);
    Node notReady = node(Conditions.of("Ready", "False", "NodeLeaseExpired", "x", since));
    Decision<NodeStatus, NodeLifecycleLoop.Evict> d = NodeLifecycleLoop.decide(notReady, lease(T0, 40),
        List.of(vm("a", false), vm("gone", true)), since.plus(GRACE), GRACE);
    assertThat(d.actions()).hasSize(2);
    VMStatus moved = d.actions().get(0).status();
    assertThat(moved.phase()).isEqualTo(VMPhase.PENDING);
    assertThat(moved.nodeName()).isNull();
    assertThat(moved.restartCount()).isEqualTo(3);
    assertThat(moved.message()).contains("node n1 stopped renewing its lease at 2026-03-01T10:00:00Z", "NotReady for 60 s");
    assertThat(Conditions.find(moved.conditions(), "Healthy")).as("its old node's word on health is dropped").isEmpty();
    assertThat(Conditions.find(moved.conditions(), "Scheduled")).hasValueSatisfying(c -> assertThat(c.getReason()).isEqualTo("NodeLost"));
    assertThat(Conditions.find(moved.conditions(), "Rescheduled")).hasValueSatisfying(c -> assertThat(c.getStatus()).isEqualTo("True"));
    assertThat(d.actions().get(1).status()).as("a VM being deleted only loses the dead agent's finalizer").isNull();
    assertThat(d.requeueAfter()).isEqualTo(Duration.ofSeconds(30));
  }

  @Test
  void aNodeThatNeverTookItsLeaseIsJudgedFromItsCreation() {
    Decision<NodeStatus, NodeLifecycleLoop.Evict> d = NodeLifecycleLoop.decide(node(null), null, List.of(), T0, GRACE);
    assertThat(Conditions.find(d.status().conditions(), "Ready")).hasValueSatisfying(c ->
        assertThat(c.getMessage()).contains("never took its lease"));
  }
}
