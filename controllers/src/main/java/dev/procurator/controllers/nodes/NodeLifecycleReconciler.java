package dev.procurator.controllers.nodes;

import dev.procurator.api.runtime.Conditions;
import dev.procurator.api.runtime.EventRecorder;
import dev.procurator.api.runtime.ObjectKey;
import dev.procurator.api.runtime.Reconciler;
import dev.procurator.api.runtime.Result;
import dev.procurator.api.runtime.StatusWriter;
import dev.procurator.api.v1alpha1.Node;
import dev.procurator.api.v1alpha1.NodeAgreements;
import dev.procurator.api.v1alpha1.NodeStatus;
import dev.procurator.api.v1alpha1.VM;
import dev.procurator.api.v1alpha1.VMPhase;
import dev.procurator.api.v1alpha1.VMStatus;
import io.fabric8.kubernetes.api.model.Condition;
import io.fabric8.kubernetes.api.model.coordination.v1.Lease;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Watches one Node's heartbeat (key: the node's name). {@link NodeHealth#decide} says what follows
 * from its Lease: when it was not renewed within its duration, the Node becomes NotReady ({@code
 * NodeLeaseExpired}); once it has been NotReady for the grace period, every VM bound to it is
 * unbound (and released from the node agent's finalizer, which a dead agent cannot remove) so the
 * scheduler places it elsewhere, with {@code Scheduled=False/NodeLost} and {@code Rescheduled}
 * conditions saying why, and {@code NodeNotReady} and {@code Rescheduled} Events.
 */
public final class NodeLifecycleReconciler implements Reconciler<ObjectKey> {
  private static final Logger log = LoggerFactory.getLogger(NodeLifecycleReconciler.class);
  public static final String LEASE_NAMESPACE = NodeAgreements.LEASE_NAMESPACE;
  /** The node agent's finalizer on the VMs it runs. */
  public static final String AGENT_FINALIZER = NodeAgreements.AGENT_FINALIZER;

  private final KubernetesClient client;
  private final Clock clock;
  private final Duration grace;
  private final EventRecorder events;

  public NodeLifecycleReconciler(KubernetesClient client, Clock clock, Duration grace, EventRecorder events) {
    this.client = client;
    this.clock = clock;
    this.grace = grace;
    this.events = events;
  }

  @Override
  public Result reconcile(ObjectKey key) {
    Node node = client.resources(Node.class).withName(key.name()).get();
    if (node == null) {
      return Result.done();
    }
    Lease lease = client.leases().inNamespace(LEASE_NAMESPACE).withName(key.name()).get();
    NodeHealth.Decision d = NodeHealth.decide(node, lease, clock.instant(), grace);
    if (d.notReady().isPresent()) {
      Condition c = d.notReady().get();
      NodeStatus st = node.getStatus();
      List<Condition> conditions = Conditions.set(st == null ? null : st.conditions(), c);
      node = StatusWriter.write(client, node, st == null ? new NodeStatus(null, null, null, null, conditions, null, null)
          : new NodeStatus(st.capacity(), st.allocatable(), st.allocated(), st.hypervisors(), conditions, st.kvm(), st.runningVMs()));
      events.warning(node, "NodeNotReady", c.getMessage());
      log.info("node {} is NotReady: {}", key.name(), c.getMessage());
    }
    if (d.evict()) {
      for (VM vm : client.resources(VM.class).inAnyNamespace().withField("spec.nodeName", key.name()).list().getItems()) {
        evict(vm, key.name(), d.lastRenewed());
      }
    }
    return Result.requeueAfter(d.lookAgainIn());
  }

  private void evict(VM vm, String node, Instant renewed) {
    if (vm.getMetadata().getDeletionTimestamp() != null) {
      // deleted while its node was away: nobody else will remove the dead agent's finalizer
      vm.getMetadata().getFinalizers().remove(AGENT_FINALIZER);
      client.resource(vm).update();
      return;
    }
    String why = "node " + node + " stopped renewing its lease at " + renewed.truncatedTo(ChronoUnit.SECONDS)
        + " and stayed NotReady for " + grace.toSeconds() + " s; rescheduling";
    // the status first: once the spec is unbound the scheduler may bind and write status at once
    VMStatus old = vm.getStatus();
    Instant now = clock.instant();
    List<Condition> conditions = Conditions.remove(old == null ? null : old.conditions(), "Scheduled", "Booted", "Healthy", "Rescheduled");
    conditions = Conditions.setAll(conditions, Conditions.of("Scheduled", Conditions.FALSE, "NodeLost", why, now),
        // stays after the scheduler binds the VM again: why it moved
        Conditions.of("Rescheduled", Conditions.TRUE, "NodeLost", why, now));
    try {
      VM marked = StatusWriter.write(client, vm, new VMStatus(VMPhase.PENDING, null, vm.getMetadata().getGeneration(), conditions, why,
          old == null ? null : old.restartCount(), null));
      marked.setSpec(marked.getSpec().withNodeName(null));
      marked.getMetadata().getFinalizers().remove(AGENT_FINALIZER);
      client.resource(marked).update();
      events.warning(marked, "Rescheduled", why);
    } catch (KubernetesClientException e) {
      if (e.getCode() == 404) {
        return;
      }
      throw e; // a conflict: the controller retries with a fresh read
    }
    log.info("vm {}/{}: {}", vm.getMetadata().getNamespace(), vm.getMetadata().getName(), why);
  }
}
