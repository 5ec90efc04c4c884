package dev.procurator.api.v1alpha1;

/**
 * Names the node agent and the controllers both rely on: where nodes keep their heartbeat
 * Leases, and the finalizer an agent puts on the VMs it runs (which the node lifecycle controller
 * removes for an agent that is gone).
 */
public final class NodeAgreements {
  /** Namespace of the Lease each node agent renews, named after its Node. */
  public static final String LEASE_NAMESPACE = "procurator-node-lease";
  /** Finalizer on a VM while a node agent may still run it. */
  public static final String AGENT_FINALIZER = "procurator.dev/node-agent";

  private NodeAgreements() {}
}
