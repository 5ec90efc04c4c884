/**
 * One small runner per hypervisor, after microvm.nix's runners: a {@link
 * dev.procurator.nodeagent.hypervisor.Runner} plans a command line from a {@link
 * dev.procurator.nodeagent.hypervisor.MachineSpec}, starts it, finds it again after the agent
 * restarts (pidfile and control socket in the VM's working directory), and stops it gracefully,
 * then forcefully. What a runner cannot do is refused before anything starts.
 */
package dev.procurator.nodeagent.hypervisor;
