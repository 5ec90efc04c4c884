/**
 * Running VM objects: {@link dev.procurator.nodeagent.vm.VmLoop} is the agent's loop for the VMs
 * bound to its node, {@link dev.procurator.nodeagent.vm.VmLifecycle} its pure decision and {@link
 * dev.procurator.nodeagent.vm.VmAction} what it asks of the {@link
 * dev.procurator.nodeagent.vm.VmHost}, which uses {@link dev.procurator.nodeagent.vm.BootResolver}
 * (kernel, initrd, closures from the cache), {@link dev.procurator.nodeagent.vm.TapNetwork} and
 * {@link dev.procurator.nodeagent.vm.Cgroups} (host resources), {@link
 * dev.procurator.nodeagent.vm.ConsoleLog} (ready line, console cap) and {@link
 * dev.procurator.nodeagent.vm.HealthProbe}; {@link dev.procurator.nodeagent.vm.Launch} records what
 * was launched, next to the hypervisor's pidfile, so a restarted agent can adopt it.
 */
package dev.procurator.nodeagent.vm;
