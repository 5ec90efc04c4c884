package dev.procurator.nodeagent.vm;

import static org.assertj.core.api.Assertions.assertThat;

import dev.procurator.api.v1alpha1.NodeAgreements;
import dev.procurator.api.v1alpha1.VM;
import dev.procurator.api.v1alpha1.VMPhase;
import dev.procurator.api.v1alpha1.VMSpec;
import dev.procurator.api.v1alpha1.VMStatus;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import java.util.List;
import java.util.function.Predicate;
import org.junit.jupiter.api.Test;

/** Which VMs the agent's loop looks after, and which of their changes wake it. */
class VmLoopTest {
  static VM vm(String node, boolean finalizer, boolean deleting) {
    VM vm = new VM();
    ObjectMetaBuilder meta = new ObjectMetaBuilder().withNamespace("default").withName("web").withGeneration(1L)
        .withFinalizers(finalizer ? List.of(NodeAgreements.AGENT_FINALIZER, "other.example/keep") : List.of("other.example/keep"));
    if (deleting) {
      meta.withDeletionTimestamp("2026-12-02T12:00:00Z");
    }
    vm.setMetadata(meta.build());
    vm.setSpec(new VMSpec(1, "128Mi", null, new VMSpec.Boot(null, "k", null, null), node, null, null, null, null, null, null));
    return vm;
  }

  @Test
  void theLoopLooksAfterTheVmsBoundHereUntilItLetsThemGo() {
    Predicate<VM> mine = VmLoop.heldBy("node-a");
    assertThat(mine.test(vm("node-a", true, false))).isTrue();
    assertThat(mine.test(vm("node-a", false, false))).as("bound here without the finalizer yet: it gets it").isTrue();
    assertThat(mine.test(vm("node-a", true, true))).as("being deleted: stopped, then let go").isTrue();
    assertThat(mine.test(vm("node-b", true, false))).as("bound elsewhere").isFalse();
    assertThat(mine.test(vm("node-a", false, true))).as("deleted without the agent's finalizer: gone for this node, its machine stops")
        .isFalse();
  }

  @Test
  void aChangeOfStatusAloneIsTheAgentsOwnWriteComingBack() {
    VM before = vm("node-a", true, false);
    VM statusOnly = vm("node-a", true, false);
    statusOnly.setStatus(new VMStatus(VMPhase.RUNNING, "node-a", 1L, null, "up", 0, null));
    assertThat(VmLoop.matters(before, statusOnly)).isFalse();
    VM respecced = vm("node-a", true, false);
    respecced.setSpec(new VMSpec(2, "128Mi", null, new VMSpec.Boot(null, "k", null, null), "node-a", null, null, null, null, null, null));
    assertThat(VmLoop.matters(before, respecced)).isTrue();
    assertThat(VmLoop.matters(before, vm("node-a", true, true))).as("deleted").isTrue();
    assertThat(VmLoop.matters(before, vm("node-a", false, false))).as("finalizer taken").isTrue();
  }
}
