package dev.procurator.nodeagent.vm;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.procurator.api.v1alpha1.Hypervisor;
import dev.procurator.api.v1alpha1.VMSpec;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;
import java.util.Objects;
import java.util.TreeSet;

/**
 * What the agent launched in a VM's working directory ({@code launch.json}, beside the pidfile):
 * the parts of the spec that need a new boot when they change, the host ports it chose, and the
 * guest's address on its bridge when tap networking gives it one. With
 * the pidfile and the control socket it is all a restarted agent needs to adopt the machine.
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record Launch(Hypervisor hypervisor, Integer cpu, String memory, VMSpec.Boot boot, VMSpec.Network network,
    List<Integer> checkPorts, List<VMSpec.PortForward> ports, String guestAddress) {
  private static final ObjectMapper JSON = new ObjectMapper().disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES);
  public static final String FILE = "launch.json";

  public Launch {
    checkPorts = checkPorts == null ? List.of() : List.copyOf(checkPorts);
    ports = ports == null ? List.of() : List.copyOf(ports);
  }

  public Launch(Hypervisor hypervisor, Integer cpu, String memory, VMSpec.Boot boot, VMSpec.Network network, List<Integer> checkPorts,
      List<VMSpec.PortForward> ports) {
    this(hypervisor, cpu, memory, boot, network, checkPorts, ports, null);
  }

  public static Launch of(VMSpec spec, List<VMSpec.PortForward> ports) {
    return new Launch(hypervisorOf(spec), spec.cpu(), spec.memory(), spec.boot(), spec.network(), checkPorts(spec), ports);
  }

  /** This launch with the guest's address on its bridge (tap networking), as its kernel command line gives it; null: unknown. */
  public Launch withGuestAddress(String address) {
    return new Launch(hypervisor, cpu, memory, boot, network, checkPorts, ports, address);
  }

  /**
   * The guest's own address from its kernel command line ({@code procurator.ip=ADDR/PREFIX}, as the
   * example guest takes it), or null when it gives none.
   */
  public static String guestAddress(String cmdline) {
    if (cmdline == null) {
      return null;
    }
    String found = null;
    for (String arg : cmdline.trim().split("\\s+")) {
      if (arg.startsWith("procurator.ip=")) {
        String v = arg.substring("procurator.ip=".length());
        v = v.contains("/") ? v.substring(0, v.indexOf('/')) : v;
        found = v.matches("[0-9]{1,3}(\\.[0-9]{1,3}){3}|[0-9a-fA-F:]+") && !v.isEmpty() ? v : null; // the last one counts, as in the guest
      }
    }
    return found;
  }

  public static Hypervisor hypervisorOf(VMSpec spec) {
    return spec.hypervisor() == null ? Hypervisor.QEMU : spec.hypervisor();
  }

  /** Guest ports the health checks use, which must be forwarded even when the network spec does not list them. */
  static List<Integer> checkPorts(VMSpec spec) {
    TreeSet<Integer> ports = new TreeSet<>();
    if (spec.healthChecks() != null) {
      spec.healthChecks().stream().map(VMSpec.HealthCheck::port).filter(Objects::nonNull).forEach(ports::add);
    }
    return List.copyOf(ports);
  }

  /** Whether the machine launched from this still matches {@code spec} (no new boot needed). */
  public boolean matches(VMSpec spec) {
    return hypervisor == hypervisorOf(spec) && Objects.equals(cpu, spec.cpu()) && Objects.equals(memory, spec.memory())
        && bootMatches(spec.boot()) && Objects.equals(network, spec.network())
        && checkPorts.equals(checkPorts(spec));
  }

  /** Whether the machine booted {@code wanted}: the same source, or the closure its closure name was resolved to. */
  private boolean bootMatches(VMSpec.Boot wanted) {
    if (Objects.equals(boot, wanted)) {
      return true;
    }
    return wanted != null && wanted.unresolved() && boot != null && boot.closureName() != null
        && Objects.equals(new VMSpec.Boot(null, boot.kernel(), boot.initrd(), boot.cmdline(), boot.closureName()), wanted);
  }

  /** The host port that reaches guest port {@code guest}, or -1. */
  public int hostPort(int guest) {
    return ports.stream().filter(p -> p.guest() == guest).mapToInt(VMSpec.PortForward::host).findFirst().orElse(-1);
  }

  public static Launch read(Path dir) {
    Path f = dir.resolve(FILE);
    try {
      return Files.exists(f) ? JSON.readValue(f.toFile(), Launch.class) : null;
    } catch (IOException e) {
      return null;
    }
  }

  public void write(Path dir) throws IOException {
    Files.createDirectories(dir);
    Path tmp = dir.resolve(FILE + ".tmp");
    JSON.writeValue(tmp.toFile(), this);
    Files.move(tmp, dir.resolve(FILE), StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
  }
}
