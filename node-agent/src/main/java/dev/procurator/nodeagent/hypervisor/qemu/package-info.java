/** QEMU's {@code microvm} machine, controlled over QMP; KVM where it really works, TCG otherwise. */
package dev.procurator.nodeagent.hypervisor.qemu;
