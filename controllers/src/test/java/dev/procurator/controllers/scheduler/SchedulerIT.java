package dev.procurator.controllers.scheduler;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.procurator.api.runtime.Informers;
import dev.procurator.api.runtime.LoopBuilder;
import dev.procurator.api.v1alpha1.VMStatus;
import dev.procurator.api.runtime.EventRecorder;
import dev.procurator.api.runtime.ObjectKey;
import dev.procurator.api.v1alpha1.Hypervisor;
import dev.procurator.api.v1alpha1.Node;
import dev.procurator.api.v1alpha1.NodeSpec;
import dev.procurator.api.v1alpha1.NodeStatus;
import dev.procurator.api.v1alpha1.VM;
import dev.procurator.api.v1alpha1.VMPhase;
import dev.procurator.api.v1alpha1.VMSpec;
import dev.procurator.apiserver.testing.TestApiServer;
import io.fabric8.kubernetes.api.model.ConditionBuilder;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The scheduler against a real API server: binds, spreads, respects selectors and capacity, explains what it cannot place. */
class SchedulerIT {
  private static void node(KubernetesClient c, String name, Map<String, String> labels, String cpu, String memory, boolean ready) {
    Node n = new Node();
    n.setMetadata(new ObjectMetaBuilder().withName(name).withLabels(labels).build());
    n.setSpec(new NodeSpec(false, null));
    Node created = c.resources(Node.class).resource(n).create();
    created.setStatus(new NodeStatus(Map.of("cpu", cpu, "memory", memory), null, null, List.of(Hypervisor.QEMU),
        List.of(new ConditionBuilder().withType("Ready").withStatus(ready ? "True" : "False").withReason("Test")
            .withLastTransitionTime("2026-11-22T00:00:00Z").build()), false, 0));
    c.resources(Node.class).resource(created).updateStatus();
  }

  private static void vm(KubernetesClient c, String name, int cpu, String memory, Map<String, String> selector) {
    VM v = new VM();
    v.setMetadata(new ObjectMetaBuilder().withName(name).withNamespace("default").build());
    v.setSpec(new VMSpec(cpu, memory, null, new VMSpec.Boot(null, "hello/vmlinux", "hello/initrd.cpio.gz", null), null, selector,
        null, null, null, null, null));
    c.resources(VM.class).inNamespace("default").resource(v).create();
  }

  private static VM get(KubernetesClient c, String name) {
    return c.resources(VM.class).inNamespace("default").withName(name).get();
  }

  @Test
  void bindsSpreadsAndExplainsWhatDoesNotFit() throws Exception {
    try (TestApiServer api = TestApiServer.embedded()) {
      KubernetesClient c = api.client();
      node(c, "a", Map.of("zone", "east"), "4", "1Gi", true);
      node(c, "b", Map.of("zone", "west"), "4", "1Gi", true);
      node(c, "down", Map.of("zone", "east"), "64", "64Gi", false);
      vm(c, "one", 1, "256Mi", null);
      vm(c, "two", 1, "256Mi", null);
      vm(c, "east", 1, "128Mi", Map.of("zone", "east"));
      vm(c, "huge", 2, "8Gi", null);

      try (EventRecorder events = new EventRecorder(c, "procurator.dev/scheduler", "test", Clock.systemUTC());
          Informers informers = new Informers(c);
          LoopBuilder.Running scheduler = LoopBuilder.<VM, VMStatus, SchedulerLoop.Action>forKind("scheduler", VM.class, c, informers)
              .reads(informers.of(Node.class))
              .events(events)
              .start(q -> new SchedulerLoop(c, Clock.systemUTC(), () -> informers.of(Node.class).getStore().list(),
                  () -> informers.of(VM.class).getStore().list()))) {
        for (String n : List.of("one", "two", "east", "huge")) {
          scheduler.enqueue(ObjectKey.of("default", n));
        }
        await().atMost(Duration.ofSeconds(20)).untilAsserted(() -> {
          assertThat(get(c, "one").getSpec().nodeName()).isNotNull();
          assertThat(get(c, "two").getSpec().nodeName()).isNotNull();
          assertThat(get(c, "east").getSpec().nodeName()).isEqualTo("a");
          assertThat(get(c, "huge").getStatus()).isNotNull();
        });
        // the first two went to different nodes
        assertThat(get(c, "one").getSpec().nodeName()).isNotEqualTo(get(c, "two").getSpec().nodeName());
        assertThat(get(c, "one").getStatus().phase()).isEqualTo(VMPhase.SCHEDULED);
        assertThat(get(c, "one").getStatus().conditions()).anySatisfy(cond -> {
          assertThat(cond.getType()).isEqualTo("Scheduled");
          assertThat(cond.getStatus()).isEqualTo("True");
        });

        VM huge = get(c, "huge");
        assertThat(huge.getSpec().nodeName()).isNull();
        assertThat(huge.getStatus().phase()).isEqualTo(VMPhase.PENDING);
        assertThat(huge.getStatus().conditions()).anySatisfy(cond -> {
          assertThat(cond.getType()).isEqualTo("Scheduled");
          assertThat(cond.getStatus()).isEqualTo("False");
          assertThat(cond.getReason()).isEqualTo("Unschedulable");
          assertThat(cond.getMessage()).contains("0/3 nodes", "1 not Ready", "2 too little free memory");
        });

        // and each decision is an Event that kubectl describe shows (core v1, selected by the object it is about)
        await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> {
          var failed = c.v1().events().inNamespace("default").withField("involvedObject.name", "huge").list().getItems();
          assertThat(failed).anySatisfy(e -> {
            assertThat(e.getReason()).isEqualTo("FailedScheduling");
            assertThat(e.getType()).isEqualTo("Warning");
            assertThat(e.getMessage()).contains("0/3 nodes");
            assertThat(e.getInvolvedObject().getKind()).isEqualTo("VM");
            assertThat(e.getSource().getComponent()).isEqualTo("procurator.dev/scheduler");
          });
          var scheduled = c.v1().events().inNamespace("default").withField("involvedObject.name", "east").list().getItems();
          assertThat(scheduled).anySatisfy(e -> {
            assertThat(e.getReason()).isEqualTo("Scheduled");
            assertThat(e.getMessage()).isEqualTo("assigned default/east to a");
          });
        });
      }
    }
  }
}
