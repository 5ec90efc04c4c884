/**
 * The node agent: one per host, it runs the VMs bound to its Node. {@link
 * dev.procurator.nodeagent.NodeAgent} wires the parts: {@link dev.procurator.nodeagent.registration}
 * (the Node and its Lease), {@link dev.procurator.nodeagent.vm} (the VM loop and what it
 * uses), {@link dev.procurator.nodeagent.hypervisor} (one runner per hypervisor) and {@link
 * dev.procurator.nodeagent.http} (logs and metrics).
 */
package dev.procurator.nodeagent;
