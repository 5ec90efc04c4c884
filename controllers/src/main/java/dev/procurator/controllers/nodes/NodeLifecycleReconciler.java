package dev.procurator.controllers.nodes;

import dev.procurator.api.runtime.Reconciler;
import dev.procurator.api.runtime.Result;
import dev.procurator.api.v1alpha1.Node;
import dev.procurator.api.v1alpha1.NodeAgreements;
import dev.procurator.api.v1alpha1.NodeStatus;
import dev.procurator.api.v1alpha1.VM;
import dev.procurator.api.v1alpha1.VMPhase;
import dev.procurator.api.v1alpha1.VMStatus;
import io.fabric8.kubernetes.api.model.Condition;
import io.fabric8.kubernetes.api.model.ConditionBuilder;
import io.fabric8.kubernetes.api.model.coordination.v1.Lease;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Watches one Node's heartbeat (key: the node's name). When its Lease in {@link #LEASE_NAMESPACE}
 * has not been renewed within its duration, the Node becomes NotReady ({@code NodeLeaseExpired});
 * once it has been NotReady for the grace period, every VM bound to it is unbound (and released
 * from the node agent's finalizer, which a dead agent cannot remove) so the scheduler places it
 * elsewhere, with a {@code Scheduled=False/NodeLost} condition saying why.
 */
public final class NodeLifecycleReconciler implements Reconciler<String> {
  private static final Logger log = LoggerFactory.getLogger(NodeLifecycleReconciler.class);
  public static final String LEASE_NAMESPACE = NodeAgreements.LEASE_NAMESPACE;
  /** The node agent's finalizer on the VMs it runs. */
  public static final String AGENT_FINALIZER = NodeAgreements.AGENT_FINALIZER;

  private final KubernetesClient client;
  private final Clock clock;
  private final Duration grace;

  public NodeLifecycleReconciler(KubernetesClient client, Clock clock, Duration grace) {
    this.client = client;
    this.clock = clock;
    this.grace = grace;
  }

  @Override
  public Result reconcile(String name) {
    Node node = client.resources(Node.class).withName(name).get();
    if (node == null) {
      return Result.done();
    }
    Lease lease = client.leases().inNamespace(LEASE_NAMESPACE).withName(name).get();
    Instant now = clock.instant();
    Instant renewed = lease == null || lease.getSpec().getRenewTime() == null ? null : lease.getSpec().getRenewTime().toInstant();
    if (renewed == null) {
      // a node that has not taken its lease yet gets one lease duration from its creation
      renewed = Instant.parse(node.getMetadata().getCreationTimestamp());
    }
    Duration duration = Duration.ofSeconds(lease == null || lease.getSpec().getLeaseDurationSeconds() == null ? 40
        : lease.getSpec().getLeaseDurationSeconds());
    if (renewed != null && now.isBefore(renewed.plus(duration))) {
      return Result.requeueAfter(Duration.between(now, renewed.plus(duration)).plusMillis(100));
    }
    Condition ready = readyCondition(node);
    Instant notReadySince;
    if (ready == null || !"False".equals(ready.getStatus())) {
      String since = lease == null ? "it never took its lease" : "it last renewed its lease at " + renewed.truncatedTo(ChronoUnit.SECONDS);
      markNotReady(node, "the node agent stopped reporting: " + since);
      notReadySince = now;
      log.info("node {} is NotReady: {}", name, since);
    } else {
      notReadySince = Instant.parse(ready.getLastTransitionTime());
    }
    Instant evictAt = notReadySince.plus(grace);
    if (now.isBefore(evictAt)) {
      return Result.requeueAfter(Duration.between(now, evictAt).plusMillis(100));
    }
    for (VM vm : client.resources(VM.class).inAnyNamespace().withField("spec.nodeName", name).list().getItems()) {
      evict(vm, name, renewed);
    }
    return Result.requeueAfter(Duration.ofSeconds(30));
  }

  private static Condition readyCondition(Node node) {
    NodeStatus st = node.getStatus();
    if (st == null || st.conditions() == null) {
      return null;
    }
    return st.conditions().stream().filter(c -> c.getType().equals("Ready")).findFirst().orElse(null);
  }

  private void markNotReady(Node node, String message) {
    NodeStatus st = node.getStatus();
    List<Condition> conditions = new ArrayList<>();
    if (st != null && st.conditions() != null) {
      st.conditions().stream().filter(c -> !c.getType().equals("Ready")).forEach(conditions::add);
    }
    conditions.add(new ConditionBuilder().withType("Ready").withStatus("False").withReason("NodeLeaseExpired").withMessage(message)
        .withLastTransitionTime(clock.instant().truncatedTo(ChronoUnit.SECONDS).toString()).build());
    node.setStatus(st == null ? new NodeStatus(null, null, null, null, conditions, null, null)
        : new NodeStatus(st.capacity(), st.allocatable(), st.allocated(), st.hypervisors(), conditions, st.kvm(), st.runningVMs()));
    client.resources(Node.class).resource(node).updateStatus();
  }

  private void evict(VM vm, String node, Instant renewed) {
    String ns = vm.getMetadata().getNamespace();
    if (vm.getMetadata().getDeletionTimestamp() != null) {
      // deleted while its node was away: nobody else will remove the dead agent's finalizer
      vm.getMetadata().getFinalizers().remove(AGENT_FINALIZER);
      client.resources(VM.class).inNamespace(ns).resource(vm).update();
      return;
    }
    String why = "node " + node + " stopped renewing its lease at " + renewed.truncatedTo(ChronoUnit.SECONDS)
        + " and stayed NotReady for " + grace.toSeconds() + " s; rescheduling";
    // the status first: once the spec is unbound the scheduler may bind and write status at once
    VMStatus old = vm.getStatus();
    List<Condition> conditions = new ArrayList<>();
    if (old != null && old.conditions() != null) {
      old.conditions().stream().filter(c -> !List.of("Scheduled", "Booted", "Healthy", "Rescheduled").contains(c.getType()))
          .forEach(conditions::add);
    }
    String now = clock.instant().truncatedTo(ChronoUnit.SECONDS).toString();
    conditions.add(new ConditionBuilder().withType("Scheduled").withStatus("False").withReason("NodeLost").withMessage(why)
        .withLastTransitionTime(now).build());
    // stays after the scheduler binds the VM again: why it moved
    conditions.add(new ConditionBuilder().withType("Rescheduled").withStatus("True").withReason("NodeLost").withMessage(why)
        .withLastTransitionTime(now).build());
    vm.setStatus(new VMStatus(VMPhase.PENDING, null, vm.getMetadata().getGeneration(), conditions, why,
        old == null ? null : old.restartCount(), null));
    try {
      VM marked = client.resources(VM.class).inNamespace(ns).resource(vm).updateStatus();
      marked.setSpec(marked.getSpec().withNodeName(null));
      marked.getMetadata().getFinalizers().remove(AGENT_FINALIZER);
      client.resources(VM.class).inNamespace(ns).resource(marked).update();
    } catch (KubernetesClientException e) {
      if (e.getCode() == 404) {
        return;
      }
      throw e; // a conflict: the controller retries with a fresh read
    }
    log.info("vm {}/{}: {}", ns, vm.getMetadata().getName(), why);
  }
}
