package dev.procurator.controllers.scheduler;

import dev.procurator.api.runtime.Conditions;
import dev.procurator.api.runtime.EventRecorder;
import dev.procurator.api.runtime.ObjectKey;
import dev.procurator.api.runtime.StatusWriter;
import dev.procurator.api.runtime.Reconciler;
import dev.procurator.api.runtime.Result;
import dev.procurator.api.v1alpha1.Node;
import dev.procurator.api.v1alpha1.NodeAgreements;
import dev.procurator.api.v1alpha1.VM;
import dev.procurator.api.v1alpha1.VMPhase;
import dev.procurator.api.v1alpha1.VMStatus;
import io.fabric8.kubernetes.api.model.Condition;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.time.Clock;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Supplier;

/**
 * Binds one VM (key {@code namespace/name}). The binding is an update with the VM's
 * resourceVersion, so two scheduler replicas can never both bind it: the loser gets 409 and
 * retries against the new state, which is already bound.
 *
 * <p>Nodes and the VMs bound to them come from suppliers (informer caches in production). A cache
 * may not show a binding made a moment ago, so bindings this scheduler made are "assumed" until
 * the cache shows them, and count against their node's capacity meanwhile. An unschedulable VM is
 * looked at again when nodes or VMs change (the caller enqueues it) and at the latest after {@link
 * #RETRY_UNSCHEDULABLE}.
 */
public final class SchedulerReconciler implements Reconciler<ObjectKey> {
  public static final Duration RETRY_UNSCHEDULABLE = Duration.ofMinutes(1);

  private final KubernetesClient client;
  private final Clock clock;
  private final Supplier<List<Node>> nodes;
  private final Supplier<List<VM>> vms;
  private final EventRecorder events;
  private final Map<ObjectKey, VM> assumed = new ConcurrentHashMap<>();

  /** A scheduler that lists nodes and VMs from the API server for every decision (for tests and small clusters). */
  public SchedulerReconciler(KubernetesClient client, Clock clock, EventRecorder events) {
    this(client, clock, () -> client.resources(Node.class).list().getItems(),
        () -> client.resources(VM.class).inAnyNamespace().list().getItems(), events);
  }

  public SchedulerReconciler(KubernetesClient client, Clock clock, Supplier<List<Node>> nodes, Supplier<List<VM>> vms,
      EventRecorder events) {
    this.client = client;
    this.clock = clock;
    this.nodes = nodes;
    this.vms = vms;
    this.events = events;
  }

  /** Bound VMs as the cache shows them, plus this scheduler's bindings the cache does not show yet. */
  private List<VM> bound() {
    Map<ObjectKey, VM> byKey = new HashMap<>();
    for (VM v : vms.get()) {
      byKey.put(ObjectKey.of(v), v);
    }
    assumed.entrySet().removeIf(e -> {
      VM seen = byKey.get(e.getKey());
      return seen == null || seen.getSpec().nodeName() != null && !seen.getSpec().nodeName().isEmpty();
    });
    byKey.putAll(assumed);
    return byKey.values().stream().filter(v -> v.getSpec().nodeName() != null && !v.getSpec().nodeName().isEmpty()).toList();
  }

  @Override
  public Result reconcile(ObjectKey key) {
    VM vm = client.resources(VM.class).inNamespace(key.namespace()).withName(key.name()).get();
    if (vm == null || vm.getMetadata().getDeletionTimestamp() != null) {
      return Result.done();
    }
    if (vm.getSpec().nodeName() != null && !vm.getSpec().nodeName().isEmpty()) {
      return Result.done();
    }
    Placement.Decision d = Placement.decide(vm, nodes.get(), bound());
    if (d.node().isEmpty()) {
      // repeated as long as it does not fit; the recorder counts the repeats
      events.warning(writeStatus(vm, VMPhase.PENDING, Conditions.FALSE, "Unschedulable", d.reason(), null), "FailedScheduling", d.reason());
      return Result.requeueAfter(RETRY_UNSCHEDULABLE);
    }
    // the status first: once the spec names the node, its agent writes status (Starting, Running)
    // and a later Scheduled from here would step the phase back; both writes carry the
    // resourceVersion, so a conflict in between makes this reconcile start over
    VM marked = writeStatus(vm, VMPhase.SCHEDULED, Conditions.TRUE, "Bound", d.reason(), d.node().get());
    marked.setSpec(marked.getSpec().withNodeName(d.node().get()));
    // from the moment it is bound, a node agent may run it: the agent's finalizer comes with the
    // binding, so the agent need not write it before it starts the VM
    if (!marked.getMetadata().getFinalizers().contains(NodeAgreements.AGENT_FINALIZER)) {
      marked.getMetadata().getFinalizers().add(NodeAgreements.AGENT_FINALIZER);
    }
    VM updated = client.resource(marked).update();
    assumed.put(key, updated);
    events.normal(updated, "Scheduled", "assigned " + key + " to " + d.node().get());
    return Result.done();
  }

  private VM writeStatus(VM vm, VMPhase phase, String status, String reason, String message, String node) {
    VMStatus old = vm.getStatus();
    List<Condition> conditions = Conditions.set(old == null ? null : old.conditions(),
        Conditions.of("Scheduled", status, reason, message, clock.instant()));
    return StatusWriter.write(client, vm, new VMStatus(phase, node, vm.getMetadata().getGeneration(), conditions, message,
        old == null ? null : old.restartCount(), old == null ? null : old.ports(), old == null ? null : old.backoff()));
  }
}
