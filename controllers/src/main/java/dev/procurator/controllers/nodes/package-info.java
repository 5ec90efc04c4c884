/**
 * The node lifecycle controller: {@link dev.procurator.controllers.nodes.NodeLifecycleReconciler}
 * turns an expired node Lease into a NotReady Node and, after a grace period, unbinds the node's
 * VMs so that the scheduler places them on live nodes.
 */
package dev.procurator.controllers.nodes;
