package dev.procurator.nodeagent.hypervisor;

import java.nio.file.Path;
import java.util.List;
import java.util.Objects;

/**
 * What a runner needs to boot one VM: resources, boot files, forwarded ports, and the VM's own
 * working directory (pidfile, control socket, serial log).
 */
public record MachineSpec(String name, int cpus, long memoryMiB, Path kernel, Path initrd, String cmdline,
    List<PortForward> ports, Path workDir) {

  /** A guest TCP port reachable at 127.0.0.1:host. */
  public record PortForward(int host, int guest) {
    public PortForward {
      if (host < 1 || host > 65535 || guest < 1 || guest > 65535) {
        throw new IllegalArgumentException("ports must be 1-65535, not " + host + "->" + guest);
      }
    }
  }

  public MachineSpec {
    Objects.requireNonNull(name);
    Objects.requireNonNull(kernel);
    Objects.requireNonNull(workDir);
    ports = List.copyOf(ports);
    if (cpus < 1 || cpus > 64) {
      throw new IllegalArgumentException("cpus must be 1-64, not " + cpus);
    }
    if (memoryMiB < 96) {
      throw new IllegalArgumentException("memory must be at least 96 MiB (the Debian kernel panics with less), not " + memoryMiB);
    }
  }
}
