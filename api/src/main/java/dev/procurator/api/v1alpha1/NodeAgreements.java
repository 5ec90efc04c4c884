package dev.procurator.api.v1alpha1;

/**
 * Names the node agent, the API server and the controllers all rely on: where nodes keep their
 * heartbeat Leases, the finalizer an agent puts on the VMs it runs (which the node lifecycle
 * controller removes for an agent that is gone), and which Node labels only admins set.
 */
public final class NodeAgreements {
  /** Namespace of the Lease each node agent renews, named after its Node. */
  public static final String LEASE_NAMESPACE = "procurator-node-lease";
  /** Finalizer on a VM while a node agent may still run it. */
  public static final String AGENT_FINALIZER = "procurator.dev/node-agent";

  /** Labels under this domain (or a subdomain of it) are set on Nodes by cluster admins, never by the node itself. */
  public static final String ADMIN_LABEL_DOMAIN = "procurator.dev";

  /** Whether {@code key} is a label only cluster admins set on a Node ({@code procurator.dev/builder}, {@code gpu.procurator.dev/x}). */
  public static boolean adminLabel(String key) {
    int slash = key.indexOf('/');
    if (slash < 0) {
      return false;
    }
    String prefix = key.substring(0, slash);
    return prefix.equals(ADMIN_LABEL_DOMAIN) || prefix.endsWith("." + ADMIN_LABEL_DOMAIN);
  }

  private NodeAgreements() {}
}
