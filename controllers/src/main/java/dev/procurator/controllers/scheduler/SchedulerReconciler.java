package dev.procurator.controllers.scheduler;

import dev.procurator.api.runtime.Reconciler;
import dev.procurator.api.runtime.Result;
import dev.procurator.api.v1alpha1.Node;
import dev.procurator.api.v1alpha1.VM;
import dev.procurator.api.v1alpha1.VMPhase;
import dev.procurator.api.v1alpha1.VMStatus;
import io.fabric8.kubernetes.api.model.Condition;
import io.fabric8.kubernetes.api.model.ConditionBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;

/**
 * Binds one VM (key {@code namespace/name}). The binding is an update with the VM's
 * resourceVersion, so two scheduler replicas can never both bind it: the loser gets 409 and
 * retries against the new state, which is already bound.
 */
public final class SchedulerReconciler implements Reconciler<String> {
  private final KubernetesClient client;
  private final Clock clock;

  public SchedulerReconciler(KubernetesClient client, Clock clock) {
    this.client = client;
    this.clock = clock;
  }

  @Override
  public Result reconcile(String key) {
    String ns = key.substring(0, key.indexOf('/'));
    String name = key.substring(key.indexOf('/') + 1);
    VM vm = client.resources(VM.class).inNamespace(ns).withName(name).get();
    if (vm == null || vm.getMetadata().getDeletionTimestamp() != null) {
      return Result.done();
    }
    if (vm.getSpec().nodeName() != null && !vm.getSpec().nodeName().isEmpty()) {
      return Result.done();
    }
    List<Node> nodes = client.resources(Node.class).list().getItems();
    List<VM> bound = client.resources(VM.class).inAnyNamespace().list().getItems().stream()
        .filter(v -> v.getSpec().nodeName() != null).toList();
    Placement.Decision d = Placement.decide(vm, nodes, bound);
    if (d.node().isEmpty()) {
      writeStatus(vm, VMPhase.PENDING, "False", "Unschedulable", d.reason());
      return Result.requeueAfter(Duration.ofSeconds(10));
    }
    vm.setSpec(vm.getSpec().withNodeName(d.node().get()));
    VM updated = client.resources(VM.class).inNamespace(ns).resource(vm).update();
    writeStatus(updated, VMPhase.SCHEDULED, "True", "Bound", d.reason());
    return Result.done();
  }

  private void writeStatus(VM vm, VMPhase phase, String status, String reason, String message) {
    VMStatus old = vm.getStatus();
    String now = Instant.now(clock).truncatedTo(ChronoUnit.SECONDS).toString();
    List<Condition> conditions = new ArrayList<>();
    if (old != null && old.conditions() != null) {
      old.conditions().stream().filter(c -> !c.getType().equals("Scheduled")).forEach(conditions::add);
      old.conditions().stream().filter(c -> c.getType().equals("Scheduled") && c.getStatus().equals(status))
          .findFirst().ifPresent(c -> conditions.add(new ConditionBuilder(c).withReason(reason).withMessage(message).build()));
    }
    if (conditions.stream().noneMatch(c -> c.getType().equals("Scheduled"))) {
      conditions.add(new ConditionBuilder().withType("Scheduled").withStatus(status).withReason(reason).withMessage(message)
          .withLastTransitionTime(now).build());
    }
    vm.setStatus(new VMStatus(phase, old == null ? null : old.nodeName(), vm.getMetadata().getGeneration(), conditions, message,
        old == null ? null : old.restartCount(), old == null ? null : old.ports()));
    client.resources(VM.class).inNamespace(vm.getMetadata().getNamespace()).resource(vm).updateStatus();
  }
}
