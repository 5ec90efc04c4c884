package dev.procurator.controllers.nodes;

import dev.procurator.api.runtime.Conditions;
import dev.procurator.api.runtime.Decision;
import dev.procurator.api.runtime.EventRecorder;
import dev.procurator.api.runtime.EventSpec;
import dev.procurator.api.runtime.Finalizers;
import dev.procurator.api.runtime.Loop;
import dev.procurator.api.runtime.NotFound;
import dev.procurator.api.runtime.ObjectKey;
import dev.procurator.api.v1alpha1.Node;
import dev.procurator.api.v1alpha1.NodeAgreements;
import dev.procurator.api.v1alpha1.NodeStatus;
import dev.procurator.api.v1alpha1.VM;
import dev.procurator.api.v1alpha1.VMPhase;
import dev.procurator.api.v1alpha1.VMStatus;
import io.fabric8.kubernetes.api.model.Condition;
import io.fabric8.kubernetes.api.model.coordination.v1.Lease;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Watches each Node's heartbeat. {@link #decide(Node, Lease, List, Instant, Duration)} is the
 * whole decision: when the node's Lease was not renewed within its duration the Node becomes
 * NotReady ({@code NodeLeaseExpired}, with a {@code NodeNotReady} Event); once it has been NotReady
 * for the grace period, each VM bound to it is {@linkplain Evict evicted}: unbound and released
 * from the node agent's finalizer (which a dead agent cannot remove), so the scheduler places it
 * elsewhere, with {@code Scheduled=False/NodeLost} and {@code Rescheduled} conditions saying why.
 */
public final class NodeLifecycleLoop implements Loop<Node, NodeStatus, NodeLifecycleLoop.Evict> {
  private static final Logger log = LoggerFactory.getLogger(NodeLifecycleLoop.class);

  /**
   * Move {@code vm} off its dead node: write {@code status} (null for a VM being deleted, which only
   * loses the agent's finalizer), then unbind it.
   */
  public record Evict(VM vm, VMStatus status) {}

  private final KubernetesClient client;
  private final Clock clock;
  private final Duration grace;
  private final Function<String, Lease> leases;
  private final Function<String, List<VM>> vmsOnNode;
  private final EventRecorder vmEvents;

  /**
   * @param leases a node's heartbeat Lease by node name, or null (a cache)
   * @param vmsOnNode the VMs bound to a node (a cache)
   * @param vmEvents where the {@code Rescheduled} Events about VMs go
   */
  public NodeLifecycleLoop(KubernetesClient client, Clock clock, Duration grace, Function<String, Lease> leases,
      Function<String, List<VM>> vmsOnNode, EventRecorder vmEvents) {
    this.client = client;
    this.clock = clock;
    this.grace = grace;
    this.leases = leases;
    this.vmsOnNode = vmsOnNode;
    this.vmEvents = vmEvents;
  }

  @Override
  public Decision<NodeStatus, Evict> decide(Node node) {
    String name = node.getMetadata().getName();
    return decide(node, leases.apply(name), vmsOnNode.apply(name), clock.instant(), grace);
  }

  /** What follows for {@code node} from its Lease, at {@code now}. */
  public static Decision<NodeStatus, Evict> decide(Node node, Lease lease, List<VM> onNode, Instant now, Duration grace) {
    NodeHealth.Decision health = NodeHealth.decide(node, lease, now, grace);
    Decision<NodeStatus, Evict> d = Decision.<NodeStatus, Evict>none().requeueAfter(health.lookAgainIn());
    if (health.notReady().isPresent()) {
      Condition c = health.notReady().get();
      NodeStatus st = NodeStatus.orEmpty(node.getStatus());
      d = d.withStatus(st.withConditions(Conditions.set(st.conditions(), c))).event(EventSpec.warning("NodeNotReady", c.getMessage()));
    }
    if (health.evict()) {
      String why = "node " + node.getMetadata().getName() + " stopped renewing its lease at "
          + health.lastRenewed().truncatedTo(ChronoUnit.SECONDS) + " and stayed NotReady for " + grace.toSeconds() + " s; rescheduling";
      List<Evict> evictions = new ArrayList<>();
      for (VM vm : onNode) {
        evictions.add(new Evict(vm, Finalizers.deleting(vm) ? null : evicted(vm, why, now)));
      }
      d = d.act(evictions);
    }
    return d;
  }

  /** The status of a VM moved off its node: Pending, and why, kept after the scheduler binds it again. */
  static VMStatus evicted(VM vm, String why, Instant now) {
    VMStatus old = VMStatus.orEmpty(vm.getStatus());
    List<Condition> conditions = Conditions.remove(old.conditions(), "Scheduled", "Booted", "Healthy", "Rescheduled");
    conditions = Conditions.setAll(conditions, Conditions.of("Scheduled", Conditions.FALSE, "NodeLost", why, now),
        Conditions.of("Rescheduled", Conditions.TRUE, "NodeLost", why, now));
    return new VMStatus(VMPhase.PENDING, null, vm.getMetadata().getGeneration(), conditions, why, old.restartCount(), null);
  }

  @Override
  public Node act(Node node, Evict e) throws Exception {
    VM vm = client.getKubernetesSerialization().clone(e.vm());
    NotFound.ignore(() -> {
      VM marked = vm;
      if (e.status() != null) {
        // the status first: once the spec is unbound the scheduler may bind and write status at once
        marked.setStatus(e.status());
        marked = client.resource(marked).updateStatus();
        marked.setSpec(marked.getSpec().withNodeName(null));
      }
      marked.getMetadata().setFinalizers(Finalizers.without(marked, NodeAgreements.AGENT_FINALIZER));
      client.resource(marked).update(); // carries the resourceVersion read: a conflict requeues the Node
      if (e.status() != null) {
        vmEvents.warning(marked, "Rescheduled", e.status().message());
        log.info("vm {}: {}", ObjectKey.of(marked), e.status().message());
      }
    });
    return node;
  }
}
