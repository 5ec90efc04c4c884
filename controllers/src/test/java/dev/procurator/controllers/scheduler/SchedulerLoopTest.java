package dev.procurator.controllers.scheduler;

import static org.assertj.core.api.Assertions.assertThat;

import dev.procurator.api.runtime.Conditions;
import dev.procurator.api.runtime.Decision;
import dev.procurator.api.runtime.EventSpec;
import dev.procurator.api.v1alpha1.Hypervisor;
import dev.procurator.api.v1alpha1.Node;
import dev.procurator.api.v1alpha1.NodeSpec;
import dev.procurator.api.v1alpha1.NodeStatus;
import dev.procurator.api.v1alpha1.VM;
import dev.procurator.api.v1alpha1.VMPhase;
import dev.procurator.api.v1alpha1.VMSpec;
import dev.procurator.api.v1alpha1.VMStatus;
import io.fabric8.kubernetes.api.model.ConditionBuilder;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The scheduler's whole decision for one VM, as a table of nodes and what is bound to them. */
class SchedulerLoopTest {
  static final Instant NOW = Instant.parse("2026-01-02T03:04:05Z");

  private static Node node(String name, String cpu, String mem) {
    Node n = new Node();
    n.setMetadata(new ObjectMetaBuilder().withName(name).withLabels(Map.of()).build());
    n.setSpec(new NodeSpec(false, null));
    n.setStatus(new NodeStatus(Map.of("cpu", cpu, "memory", mem), null, null, List.of(Hypervisor.QEMU),
        List.of(new ConditionBuilder().withType("Ready").withStatus("True").build()), false, 0));
    return n;
  }

  private static VM vm(String name, int cpu, String mem, String nodeName, VMStatus status) {
    VM v = new VM();
    v.setMetadata(new ObjectMetaBuilder().withNamespace("default").withName(name).withGeneration(3L).build());
    v.setSpec(new VMSpec(cpu, mem, null, new VMSpec.Boot(null, "k", null, null), nodeName, null, null, null, null, null, null));
    v.setStatus(status);
    return v;
  }

  @Test
  void aVmThatFitsIsMarkedScheduledThenBoundWithAnEvent() {
    Decision<VMStatus, SchedulerLoop.Action> d = SchedulerLoop.decide(vm("web", 1, "256Mi", null, null),
        List.of(node("a", "2", "1Gi")), List.of(), NOW);
    assertThat(d.status().phase()).isEqualTo(VMPhase.SCHEDULED);
    assertThat(d.status().nodeName()).isEqualTo("a");
    assertThat(d.status().observedGeneration()).isEqualTo(3L);
    assertThat(Conditions.find(d.status().conditions(), "Scheduled")).hasValueSatisfying(c -> {
      assertThat(c.getStatus()).isEqualTo("True");
      assertThat(c.getReason()).isEqualTo("Bound");
    });
    assertThat(d.actions()).containsExactly(new SchedulerLoop.Bind("a"));
    assertThat(d.events()).containsExactly(EventSpec.normal("Scheduled", "assigned default/web to a"));
    assertThat(d.requeueAfter()).isNull();
  }

  @Test
  void aVmThatFitsNowhereStaysPendingSaysWhyAndIsLookedAtAgain() {
    VMStatus before = new VMStatus(null, null, null, null, null, 2, null, null);
    Decision<VMStatus, SchedulerLoop.Action> d = SchedulerLoop.decide(vm("big", 1, "512Mi", null, before),
        List.of(node("a", "2", "1Gi")), List.of(vm("x", 1, "768Mi", "a", null)), NOW);
    assertThat(d.actions()).isEmpty();
    assertThat(d.status().phase()).isEqualTo(VMPhase.PENDING);
    assertThat(d.status().nodeName()).isNull();
    assertThat(d.status().restartCount()).as("what others wrote in status is kept").isEqualTo(2);
    assertThat(Conditions.find(d.status().conditions(), "Scheduled")).hasValueSatisfying(c -> {
      assertThat(c.getStatus()).isEqualTo("False");
      assertThat(c.getReason()).isEqualTo("Unschedulable");
      assertThat(c.getMessage()).contains("0/1 nodes", "too little free memory");
    });
    assertThat(d.events()).singleElement().satisfies(e -> {
      assertThat(e.type()).isEqualTo("Warning");
      assertThat(e.reason()).isEqualTo("FailedScheduling");
    });
    assertThat(d.requeueAfter()).isEqualTo(SchedulerLoop.RETRY_UNSCHEDULABLE);
  }

  static VMStatus failedOn(String node, long generation, String reason, boolean boundByScheduler) {
    return new VMStatus(VMPhase.FAILED, node, generation, List.of(
        Conditions.of("Scheduled", boundByScheduler ? Conditions.TRUE : Conditions.FALSE, boundByScheduler ? "Bound" : "Unschedulable", "x", NOW),
        Conditions.of("Booted", Conditions.FALSE, reason, "kernel /data/images/hello/vmlinux does not exist", NOW)), "x", 1, null);
  }

  @Test
  void aVmItsNodeCannotBootIsMovedAwayWithAnEventAndNeverSentBackForTheSameSpec() {
    VM vm = vm("web", 1, "64Mi", "a", failedOn("a", 3L, "BootSourceMissing", true));
    String key = Placement.specKey(vm);
    Decision<VMStatus, SchedulerLoop.Action> d = SchedulerLoop.decide(vm, List.of(node("a", "2", "1Gi"), node("b", "2", "1Gi")), List.of(), NOW);
    assertThat(d.actions()).containsExactly(new SchedulerLoop.Unbind("a", key + ":a"));
    assertThat(d.statusLast()).as("off the node before its status says so").isTrue();
    assertThat(d.status().phase()).isEqualTo(VMPhase.PENDING);
    assertThat(d.status().nodeName()).isNull();
    assertThat(Conditions.find(d.status().conditions(), "Booted")).as("the old node's word on booting is dropped").isEmpty();
    assertThat(Conditions.find(d.status().conditions(), "Scheduled")).hasValueSatisfying(c -> {
      assertThat(c.getReason()).isEqualTo("BootSourceMissing");
      assertThat(c.getMessage()).contains("node a cannot boot it", "hello/vmlinux does not exist");
    });
    assertThat(d.events()).singleElement().satisfies(e -> assertThat(e.reason()).isEqualTo("Rescheduled"));

    // unbound, with the annotation, and a generation the unbinding moved on: it goes to b, never back to a
    VM moved = vm("web", 1, "64Mi", null, d.status());
    moved.getMetadata().setGeneration(4L);
    moved.getMetadata().setAnnotations(Map.of(VM.UNBOOTABLE_ON, key + ":a"));
    Decision<VMStatus, SchedulerLoop.Action> again = SchedulerLoop.decide(moved, List.of(node("a", "8", "8Gi"), node("b", "2", "1Gi")), List.of(), NOW);
    assertThat(again.actions()).containsExactly(new SchedulerLoop.Bind("b"));

    // when no node is left it waits, Pending, saying why: never Failed in a loop
    moved.getMetadata().setAnnotations(Map.of(VM.UNBOOTABLE_ON, key + ":a,b"));
    Decision<VMStatus, SchedulerLoop.Action> none = SchedulerLoop.decide(moved, List.of(node("a", "8", "8Gi"), node("b", "2", "1Gi")), List.of(), NOW);
    assertThat(none.status().phase()).isEqualTo(VMPhase.PENDING);
    assertThat(none.status().message()).isEqualTo("0/2 nodes can run it: 2 could not boot it");

    // a new spec may boot anywhere again
    moved.setSpec(moved.getSpec().withBoot(new VMSpec.Boot(null, "other/vmlinux", null, null)));
    assertThat(SchedulerLoop.decide(moved, List.of(node("a", "8", "8Gi")), List.of(), NOW).actions()).containsExactly(new SchedulerLoop.Bind("a"));
  }

  @Test
  void aFailureOfAnOtherKindOrFromAnOlderSpecOrAnotherNodeOrOnAVmPinnedByHandLeavesTheBindingAlone() {
    for (VMStatus st : List.of(
        failedOn("a", 3L, "CrashLoop", true),
        failedOn("a", 2L, "BootSourceMissing", true),
        failedOn("z", 3L, "BootSourceMissing", true),
        failedOn("a", 3L, "BootSourceMissing", false))) {
      assertThat(SchedulerLoop.decide(vm("web", 1, "64Mi", "a", st), List.of(node("a", "2", "1Gi")), List.of(), NOW).actions()).isEmpty();
    }
  }
}
