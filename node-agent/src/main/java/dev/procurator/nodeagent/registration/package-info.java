/**
 * How a host joins and stays in the cluster: {@link dev.procurator.nodeagent.registration.NodeRegistration}
 * writes its Node (capacity, hypervisors, labels, Ready) and renews its Lease, so the node
 * lifecycle controller can tell a live host from a dead one.
 */
package dev.procurator.nodeagent.registration;
