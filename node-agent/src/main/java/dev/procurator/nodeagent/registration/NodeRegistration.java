package dev.procurator.nodeagent.registration;

import dev.procurator.api.v1alpha1.Hypervisor;
import dev.procurator.api.v1alpha1.Node;
import dev.procurator.api.v1alpha1.NodeAgreements;
import dev.procurator.api.v1alpha1.NodeSpec;
import dev.procurator.api.v1alpha1.NodeStatus;
import dev.procurator.api.runtime.Conditions;
import dev.procurator.api.runtime.StatusWriter;
import io.fabric8.kubernetes.api.model.Condition;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.api.model.coordination.v1.Lease;
import io.fabric8.kubernetes.api.model.coordination.v1.LeaseBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.util.List;
import java.util.Map;

/**
 * Registers this host's Node and keeps it alive: the Node's status says what the host offers
 * and that it is Ready; a Lease named after the node in {@code procurator-node-lease} is renewed
 * every {@link #renewEvery}, which is what the node lifecycle controller watches.
 */
public final class NodeRegistration {
  public static final String LEASE_NAMESPACE = NodeAgreements.LEASE_NAMESPACE;

  private final KubernetesClient client;
  private final String name;
  private final Map<String, String> labels;
  private final List<Hypervisor> hypervisors;
  private final boolean kvm;
  private final HostFacts host;
  private final Clock clock;
  private final Duration leaseDuration;
  private final int cpuOvercommit;
  private volatile int builds = -1;
  private volatile java.util.function.Supplier<List<NodeStatus.Image>> images;
  private volatile Boolean binaryCache;

  public NodeRegistration(KubernetesClient client, String name, Map<String, String> labels, List<Hypervisor> hypervisors,
      boolean kvm, HostFacts host, Clock clock, Duration leaseDuration) {
    this(client, name, labels, hypervisors, kvm, host, clock, leaseDuration, 1);
  }

  /**
   * @param cpuOvercommit vCPUs the scheduler may place per host CPU ({@code allocatable.cpu} is
   *     {@code capacity.cpu} times this); memory is never overcommitted
   */
  public NodeRegistration(KubernetesClient client, String name, Map<String, String> labels, List<Hypervisor> hypervisors,
      boolean kvm, HostFacts host, Clock clock, Duration leaseDuration, int cpuOvercommit) {
    this.client = client;
    this.name = name;
    this.labels = java.util.Collections.unmodifiableMap(new java.util.TreeMap<>(labels));
    this.hypervisors = List.copyOf(hypervisors);
    this.kvm = kvm;
    this.host = host;
    this.clock = clock;
    this.leaseDuration = leaseDuration;
    this.cpuOvercommit = cpuOvercommit;
  }

  /** Publishes {@code allocatable.builds}: how many Builds this node runs at once. */
  /** Reports what {@code images} finds in the node's images directory with every status. */
  public NodeRegistration withImages(java.util.function.Supplier<List<NodeStatus.Image>> images) {
    this.images = images;
    return this;
  }

  /** Reports whether this agent pulls closures from a binary cache. */
  public NodeRegistration withBinaryCache(boolean has) {
    this.binaryCache = has;
    return this;
  }

  public NodeRegistration withBuilds(int max) {
    this.builds = max;
    return this;
  }

  public Duration renewEvery() {
    return leaseDuration.dividedBy(4);
  }

  /** Creates or updates the Node and its status (Ready), and renews the Lease. Safe to call again. */
  public Node register() {
    return register(null, 0, null);
  }

  /**
   * Creates or updates the Node (labels, the agent's endpoint) and its status: Ready, capacity,
   * what the VMs here use ({@code allocated}, {@code runningVMs}); renews the Lease. Safe to call
   * again, and it is: this is the agent's periodic status report. A write that races the node
   * lifecycle controller's fails with 409; the next report carries it.
   */
  public Node register(String agentEndpoint, int runningVMs, Map<String, String> allocated) {
    var nodes = client.resources(Node.class);
    Node existing = nodes.withName(name).get();
    if (existing == null) {
      Node n = new Node();
      n.setMetadata(new ObjectMetaBuilder().withName(name).withLabels(labels).build());
      n.setSpec(new NodeSpec(false, agentEndpoint));
      existing = nodes.resource(n).create();
    } else if (!existing.getMetadata().getLabels().entrySet().containsAll(labels.entrySet())
        || agentEndpoint != null && (existing.getSpec() == null || !agentEndpoint.equals(existing.getSpec().agentEndpoint()))) {
      // (an admin may have made the Node first, to label it)
      existing.getMetadata().getLabels().putAll(labels);
      boolean cordoned = existing.getSpec() != null && Boolean.TRUE.equals(existing.getSpec().unschedulable());
      String endpoint = agentEndpoint != null ? agentEndpoint : existing.getSpec() == null ? null : existing.getSpec().agentEndpoint();
      existing.setSpec(new NodeSpec(cordoned, endpoint));
      existing = nodes.resource(existing).update();
    }
    Condition ready = Conditions.of("Ready", Conditions.TRUE, "AgentRunning", "the node agent is running and renewing its lease",
        clock.instant());
    Map<String, String> capacity = new java.util.TreeMap<>(Map.of("cpu", Integer.toString(host.cpus()), "memory", host.memoryQuantity()));
    NodeStatus old = existing.getStatus();
    Map<String, String> allocatable = new java.util.TreeMap<>(Map.of("cpu", Integer.toString(host.cpus() * cpuOvercommit), "memory", host.memoryQuantity()));
    if (builds >= 0) {
      allocatable.put(dev.procurator.api.v1alpha1.BuildAgreements.BUILDS_RESOURCE, Integer.toString(builds));
    }
    NodeStatus next = new NodeStatus(capacity, allocatable, allocated, hypervisors,
        Conditions.set(old == null ? null : old.conditions(), ready), kvm, runningVMs, images == null ? null : images.get(), binaryCache);
    Node updated = StatusWriter.write(client, existing, next);
    renewLease();
    return updated;
  }

  /** Takes or renews this node's Lease. */
  public Lease renewLease() {
    ZonedDateTime renew = ZonedDateTime.ofInstant(Instant.now(clock).truncatedTo(ChronoUnit.MICROS), ZoneOffset.UTC);
    var leases = client.leases().inNamespace(LEASE_NAMESPACE);
    Lease lease = leases.withName(name).get();
    if (lease == null) {
      return leases.resource(new LeaseBuilder().withNewMetadata().withName(name).endMetadata()
          .withNewSpec().withHolderIdentity(name).withLeaseDurationSeconds((int) leaseDuration.toSeconds())
          .withAcquireTime(renew).withRenewTime(renew).endSpec().build()).create();
    }
    lease.getSpec().setHolderIdentity(name);
    lease.getSpec().setLeaseDurationSeconds((int) leaseDuration.toSeconds());
    lease.getSpec().setRenewTime(renew);
    return leases.resource(lease).update();
  }
}
