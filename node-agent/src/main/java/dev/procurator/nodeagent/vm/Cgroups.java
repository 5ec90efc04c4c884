package dev.procurator.nodeagent.vm;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One cgroup v2 group per VM under {@code ROOT/procurator/NODE/}, with {@code cpu.max} and
 * {@code memory.max} from the VM's spec; the hypervisor's process is moved into it after it
 * starts. Only where cgroup v2 is mounted with the cpu and memory controllers and writable: {@link
 * #detect} says why not otherwise, and VMs then run without limits. Thread-safe.
 */
public final class Cgroups {
  private static final Logger log = LoggerFactory.getLogger(Cgroups.class);
  /** Memory the hypervisor itself needs above the guest's RAM. */
  private static final long OVERHEAD = 64L << 20;

  private final Path parent;

  private Cgroups(Path parent) {
    this.parent = parent;
  }

  /** The groups for {@code node} under the cgroup v2 mount {@code root}, or why there are none. */
  public static Result detect(Path root, String node) {
    Path controllers = root.resolve("cgroup.controllers");
    try {
      if (!Files.exists(controllers)) {
        return new Result(Optional.empty(), "no cgroup v2 hierarchy at " + root);
      }
      List<String> available = List.of(Files.readString(controllers).trim().split("\\s+"));
      if (!available.contains("cpu") || !available.contains("memory")) {
        return new Result(Optional.empty(), "cgroup v2 at " + root + " lacks the cpu or memory controller");
      }
      Path group = root.resolve("procurator");
      Files.createDirectories(group);
      Files.writeString(root.resolve("cgroup.subtree_control"), "+cpu +memory");
      Path nodeGroup = group.resolve(node);
      Files.createDirectories(nodeGroup);
      Files.writeString(group.resolve("cgroup.subtree_control"), "+cpu +memory");
      Files.writeString(nodeGroup.resolve("cgroup.subtree_control"), "+cpu +memory");
      return new Result(Optional.of(new Cgroups(nodeGroup)), "VM limits in " + nodeGroup);
    } catch (IOException | RuntimeException e) {
      return new Result(Optional.empty(), "cgroup v2 at " + root + " is not writable: " + e.getMessage());
    }
  }

  /** What {@link #detect} found. */
  public record Result(Optional<Cgroups> cgroups, String description) {}

  /** Puts {@code pid} into the VM's group limited to {@code cpus} CPUs and the guest's memory plus overhead. */
  public void place(String vmKey, long pid, int cpus, long memoryBytes) {
    Path g = group(vmKey);
    try {
      Files.createDirectories(g);
      Files.writeString(g.resolve("cpu.max"), (cpus * 100_000L) + " 100000");
      Files.writeString(g.resolve("memory.max"), Long.toString(memoryBytes + OVERHEAD));
      Files.writeString(g.resolve("cgroup.procs"), Long.toString(pid));
    } catch (IOException e) {
      log.warn("could not limit {} in cgroup {}: {}", vmKey, g, e.getMessage());
    }
  }

  public void remove(String vmKey) {
    try {
      Files.deleteIfExists(group(vmKey));
    } catch (IOException e) {
      log.info("cgroup {} not removed yet: {}", group(vmKey), e.getMessage());
    }
  }

  Path group(String vmKey) {
    return parent.resolve(vmKey.replace('/', '_'));
  }
}
