/**
 * Running VM objects: {@link dev.procurator.nodeagent.vm.VmReconciler} takes one VM bound to this
 * node a step toward its spec each time it is called, using {@link
 * dev.procurator.nodeagent.vm.BootResolver} (kernel, initrd, closures from the cache), {@link
 * dev.procurator.nodeagent.vm.TapNetwork} and {@link dev.procurator.nodeagent.vm.Cgroups} (host
 * resources), {@link dev.procurator.nodeagent.vm.ConsoleLog} (ready line, console cap) and {@link
 * dev.procurator.nodeagent.vm.HealthProbe}; {@link dev.procurator.nodeagent.vm.Launch} records what
 * was launched, next to the hypervisor's pidfile, so a restarted agent can adopt it.
 */
package dev.procurator.nodeagent.vm;
