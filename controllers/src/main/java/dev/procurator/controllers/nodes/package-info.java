/**
 * The node lifecycle controller: {@link dev.procurator.controllers.nodes.NodeLifecycleLoop} turns
 * an expired node Lease into a NotReady Node and, after a grace period, unbinds the node's VMs so
 * that the scheduler places them on live nodes. {@link dev.procurator.controllers.nodes.NodeHealth}
 * is the pure reading of a Lease.
 */
package dev.procurator.controllers.nodes;
