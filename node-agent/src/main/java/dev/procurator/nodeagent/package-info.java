/**
 * The node agent: one per host, it runs the VMs bound to its Node. So far it holds the
 * hypervisor runners ({@link dev.procurator.nodeagent.hypervisor}); the reconcile loop that
 * drives them from VM objects comes next.
 */
package dev.procurator.nodeagent;
