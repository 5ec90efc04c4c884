package dev.procurator.controllers.scheduler;

import dev.procurator.api.runtime.Conditions;
import dev.procurator.api.runtime.Decision;
import dev.procurator.api.runtime.EventSpec;
import dev.procurator.api.runtime.Finalizers;
import dev.procurator.api.runtime.Loop;
import dev.procurator.api.runtime.ObjectKey;
import dev.procurator.api.v1alpha1.Node;
import dev.procurator.api.v1alpha1.NodeAgreements;
import dev.procurator.api.v1alpha1.VM;
import dev.procurator.api.v1alpha1.VMPhase;
import dev.procurator.api.v1alpha1.VMStatus;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Supplier;

/**
 * Binds VMs to nodes. {@link #decide(VM, List, List, Instant)} is the whole decision, from the VM,
 * the nodes and the VMs already bound: a VM that fits gets {@code Scheduled=True/Bound} and a
 * {@link Bind}; one that does not gets {@code Scheduled=False/Unschedulable} naming why for each
 * node, a {@code FailedScheduling} Event, and another look after {@link #RETRY_UNSCHEDULABLE}
 * (sooner when nodes or VMs change).
 *
 * <p>The status is written before the binding: once the spec names the node, its agent writes
 * status (Starting, Running), and a Scheduled written after would step the phase back. The binding
 * is an update with the VM's resourceVersion, so two scheduler replicas never both bind it. A
 * cache may not show a binding made a moment ago, so bindings made here are assumed until the cache
 * shows them, and count against their node's capacity meanwhile.
 */
public final class SchedulerLoop implements Loop<VM, VMStatus, SchedulerLoop.Action> {
  public static final Duration RETRY_UNSCHEDULABLE = Duration.ofMinutes(1);
  /** The reasons a node gives for a boot source it cannot use: another node may have it. */
  static final java.util.Set<String> BOOT_SOURCE_REASONS = java.util.Set.of("BootSourceMissing", "BootPathForbidden");

  /** What the scheduler writes besides status. */
  public sealed interface Action {}

  /** Bind the VM to {@code node}, with the node agent's finalizer. */
  public record Bind(String node) implements Action {}

  /**
   * Take the VM off {@code node}, which cannot boot it, and release it from the node agent's
   * finalizer; {@code unbootableOn} is the new {@link VM#UNBOOTABLE_ON}.
   */
  public record Unbind(String node, String unbootableOn) implements Action {}

  private final KubernetesClient client;
  private final Clock clock;
  private final Supplier<List<Node>> nodes;
  private final Supplier<List<VM>> vms;
  private final Map<ObjectKey, VM> assumed = new ConcurrentHashMap<>();

  public SchedulerLoop(KubernetesClient client, Clock clock, Supplier<List<Node>> nodes, Supplier<List<VM>> vms) {
    this.client = client;
    this.clock = clock;
    this.nodes = nodes;
    this.vms = vms;
  }

  @Override
  public Decision<VMStatus, Action> decide(VM vm) {
    if (Finalizers.deleting(vm)) {
      return Decision.none();
    }
    return decide(vm, nodes.get(), bound(vm) ? List.of() : bound(), clock.instant());
  }

  /**
   * Where {@code vm} goes, from the nodes and what is bound to them; or, for a VM whose node says
   * it cannot boot its boot source, that it moves.
   */
  public static Decision<VMStatus, Action> decide(VM vm, List<Node> nodes, List<VM> bound, Instant now) {
    if (bound(vm)) {
      return unbootableHere(vm) ? moveAway(vm, now) : Decision.none();
    }
    Placement.Decision d = Placement.decide(vm, nodes, bound);
    VMStatus old = VMStatus.orEmpty(vm.getStatus());
    if (d.node().isEmpty()) {
      return Decision.<VMStatus, Action>status(old.withPhase(VMPhase.PENDING, d.reason()).withNodeName(null)
              .withObservedGeneration(vm.getMetadata().getGeneration())
              .withConditions(Conditions.set(old.conditions(), Conditions.of("Scheduled", Conditions.FALSE, "Unschedulable", d.reason(), now))))
          // repeated as long as it does not fit; the recorder counts the repeats
          .event(EventSpec.warning("FailedScheduling", d.reason()))
          .requeueAfter(RETRY_UNSCHEDULABLE);
    }
    String node = d.node().get();
    return Decision.<VMStatus, Action>status(old.withPhase(VMPhase.SCHEDULED, d.reason()).withNodeName(node)
            .withObservedGeneration(vm.getMetadata().getGeneration())
            .withConditions(Conditions.set(old.conditions(), Conditions.of("Scheduled", Conditions.TRUE, "Bound", d.reason(), now))))
        .act(new Bind(node))
        .event(EventSpec.normal("Scheduled", "assigned " + ObjectKey.of(vm) + " to " + node));
  }

  /**
   * Whether the VM's own node reported, for its current spec, that it cannot have its boot source,
   * and the VM is the scheduler's to move: one that a user bound by hand ({@code spec.nodeName} in
   * the manifest) stays where it was put, as a Kubernetes pod does.
   */
  public static boolean unbootableHere(VM vm) {
    VMStatus st = vm.getStatus();
    return st != null && st.phase() == VMPhase.FAILED && bound(vm) && vm.getSpec().nodeName().equals(st.nodeName())
        && "Bound".equals(Conditions.reason(st.conditions(), "Scheduled"))
        && java.util.Objects.equals(st.observedGeneration(), vm.getMetadata().getGeneration())
        && BOOT_SOURCE_REASONS.contains(Conditions.reason(st.conditions(), "Booted"));
  }

  /** Pending again, with why, and off the node that cannot boot it. */
  private static Decision<VMStatus, Action> moveAway(VM vm, Instant now) {
    String node = vm.getSpec().nodeName();
    VMStatus old = vm.getStatus();
    String reason = Conditions.reason(old.conditions(), "Booted");
    String why = "node " + node + " cannot boot it (" + reason + ": " + Conditions.find(old.conditions(), "Booted").get().getMessage()
        + "); scheduling it on another node";
    List<io.fabric8.kubernetes.api.model.Condition> conditions = Conditions.remove(old.conditions(), "Booted", "Healthy", "Scheduled");
    conditions = Conditions.set(conditions, Conditions.of("Scheduled", Conditions.FALSE, reason, why, now));
    return Decision.<VMStatus, Action>status(old.withPhase(VMPhase.PENDING, why).withNodeName(null).withPorts(null).withConditions(conditions))
        .act(new Unbind(node, Placement.unbootableOnWith(vm, node)))
        .event(EventSpec.warning("Rescheduled", why))
        // off the node first: until then its agent may still write the VM's status
        .statusAfterActions();
  }

  @Override
  public VM act(VM vm, Action action) {
    switch (action) {
      case Bind bind -> {
        vm.setSpec(vm.getSpec().withNodeName(bind.node()));
        // from the moment it is bound, a node agent may run it: the agent's finalizer comes with
        // the binding, so the agent need not write it before it starts the VM
        vm.getMetadata().setFinalizers(Finalizers.with(vm, NodeAgreements.AGENT_FINALIZER));
        VM updated = client.resource(vm).update();
        assumed.put(ObjectKey.of(vm), updated);
        return updated;
      }
      case Unbind unbind -> {
        vm.setSpec(vm.getSpec().withNodeName(null));
        // its agent booted nothing, and may not touch a VM no longer bound to it (NodeRestriction):
        // the finalizer that came with the binding goes with it, as when a lost node's VMs move
        vm.getMetadata().setFinalizers(Finalizers.without(vm, NodeAgreements.AGENT_FINALIZER));
        java.util.Map<String, String> a = new java.util.HashMap<>(vm.getMetadata().getAnnotations() == null ? java.util.Map.of()
            : vm.getMetadata().getAnnotations());
        a.put(VM.UNBOOTABLE_ON, unbind.unbootableOn());
        vm.getMetadata().setAnnotations(a);
        return client.resource(vm).update();
      }
    }
  }

  @Override
  public void forget(ObjectKey key) {
    assumed.remove(key);
  }

  static boolean bound(VM vm) {
    return vm.getSpec().nodeName() != null && !vm.getSpec().nodeName().isEmpty();
  }

  /** Bound VMs as the cache shows them, plus this scheduler's bindings the cache does not show yet. */
  private List<VM> bound() {
    Map<ObjectKey, VM> byKey = new HashMap<>();
    for (VM v : vms.get()) {
      byKey.put(ObjectKey.of(v), v);
    }
    assumed.entrySet().removeIf(e -> {
      VM seen = byKey.get(e.getKey());
      return seen == null || bound(seen);
    });
    byKey.putAll(assumed);
    return byKey.values().stream().filter(SchedulerLoop::bound).toList();
  }
}
