package dev.procurator.api.v1alpha1;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import io.fabric8.generator.annotation.Default;
import io.fabric8.generator.annotation.Max;
import io.fabric8.generator.annotation.Min;
import io.fabric8.generator.annotation.Pattern;
import io.fabric8.generator.annotation.Required;
import io.fabric8.generator.annotation.Size;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/** What a VM should be. */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record VMSpec(
    @Required @Min(1) @Max(64) @JsonPropertyDescription("Number of virtual CPUs.") Integer cpu,
    @Required @Pattern(Quantities.MEMORY_PATTERN)
        @JsonPropertyDescription("Guest memory as a quantity, for example 256Mi or 1Gi.")
        String memory,
    @Default("qemu") @JsonPropertyDescription("Hypervisor that runs the VM.") Hypervisor hypervisor,
    @Required @JsonPropertyDescription("What the VM boots.") Boot boot,
    @JsonPropertyDescription("Node the VM is bound to; set by the scheduler unless given.") String nodeName,
    @JsonPropertyDescription("Labels a node must carry to run this VM.") Map<String, String> nodeSelector,
    Network network,
    List<SecretMount> secrets,
    List<HealthCheck> healthChecks,
    @Default("Always") RestartPolicy restartPolicy,
    @Min(1) @JsonPropertyDescription("Seconds the guest may take to print its ready line before the boot counts as failed; the node agent's default when absent.")
        Integer bootTimeoutSeconds) {

  /** This spec booting {@code boot}. */
  public VMSpec withBoot(Boot b) {
    return new VMSpec(cpu, memory, hypervisor, b, nodeName, nodeSelector, network, secrets, healthChecks, restartPolicy, bootTimeoutSeconds);
  }

  /** This spec bound to {@code node} (or unbound, for null). */
  public VMSpec withNodeName(String node) {
    return new VMSpec(cpu, memory, hypervisor, boot, node, nodeSelector, network, secrets, healthChecks, restartPolicy,
        bootTimeoutSeconds);
  }

  /**
   * Boot source: a Nix closure by store path or by the name the binary cache keeps for it, or a
   * kernel with initrd and command line.
   */
  @JsonInclude(JsonInclude.Include.NON_NULL)
  public record Boot(
      @Pattern("^/nix/store/[0-9a-df-np-sv-z]{32}-[A-Za-z0-9+._?=-]+$")
          @JsonPropertyDescription("Store path of a closure holding kernel, initrd and init. With closureName, the path that name was"
              + " resolved to (a Cluster revision pins it so).")
          String closure,
      @JsonPropertyDescription("Kernel image path (absolute, or relative to the agent's images directory).") String kernel,
      @JsonPropertyDescription("Initial ramdisk path.") String initrd,
      @JsonPropertyDescription("Kernel command line.") String cmdline,
      @Pattern(dev.procurator.api.nix.ClosureNames.NAME_PATTERN)
          @JsonPropertyDescription("Name of a closure in the binary cache (pctl closure list), as a registry keeps tags: the node agent"
              + " resolves it at start and records the store path in status.closure; a Cluster pins the path in its revision.")
          String closureName) {

    /** A boot source that names no closure by name. */
    public Boot(String closure, String kernel, String initrd, String cmdline) {
      this(closure, kernel, initrd, cmdline, null);
    }

    /** A closure booted by the name the binary cache keeps for it. */
    public static Boot named(String closureName, String cmdline) {
      return new Boot(null, null, null, cmdline, closureName);
    }

    /** This boot source with the store path {@code path} its closure name stands for. */
    public Boot resolvedTo(String path) {
      return new Boot(path, kernel, initrd, cmdline, closureName);
    }

    /** Whether it boots a closure (by path or by name) rather than files. */
    public boolean bootsClosure() {
      return closure != null || closureName != null;
    }

    /** Whether it boots a closure by a name not yet resolved to a store path. */
    public boolean unresolved() {
      return closure == null && closureName != null;
    }
  }

  /** Guest networking. */
  @JsonInclude(JsonInclude.Include.NON_NULL)
  public record Network(@Default("user") NetworkMode mode, List<PortForward> ports) {}

  /** A guest port reachable on the host. */
  @JsonInclude(JsonInclude.Include.NON_NULL)
  public record PortForward(
      @Required @Min(1) @Max(65535) Integer guest,
      @Min(1) @Max(65535) @JsonPropertyDescription("Host port on 127.0.0.1; chosen by the agent when absent.") Integer host) {}

  /** A Secret made visible inside the guest. */
  @JsonInclude(JsonInclude.Include.NON_NULL)
  public record SecretMount(
      @Required @Pattern(Names.DNS1123_SUBDOMAIN_PATTERN) String name,
      @Required @Pattern(MOUNT_PATH_PATTERN) @Size(min = 2, max = MAX_MOUNT_PATH_LENGTH)
          @JsonPropertyDescription("Absolute path in the guest the Secret's files appear under, such as /run/secrets/db:"
              + " letters, digits, '.', '_', '-' and '/', no '.' or '..' segment, at most 255 characters.")
          String mountPath) {

    /** The characters a mount path may hold: it is passed to the guest on the kernel command line, where a space would split it. */
    public static final String MOUNT_PATH_PATTERN = "^/[A-Za-z0-9._/-]*$";
    public static final int MAX_MOUNT_PATH_LENGTH = 255;
    private static final java.util.regex.Pattern MOUNT_PATH = java.util.regex.Pattern.compile(MOUNT_PATH_PATTERN);

    /**
     * Why {@code path} cannot be a mount path, or empty when it can: it must be absolute, of
     * letters, digits, '.', '_', '-' and '/' (nothing that could end or split a kernel
     * command-line argument), with no empty, '.' or '..' segment, not '/' itself, and at most
     * {@value #MAX_MOUNT_PATH_LENGTH} characters.
     */
    public static Optional<String> mountPathProblem(String path) {
      if (path == null || !MOUNT_PATH.matcher(path).matches()) {
        return Optional.of("must be an absolute path of letters, digits, '.', '_', '-' and '/' (no spaces or other characters)");
      }
      if (path.length() > MAX_MOUNT_PATH_LENGTH) {
        return Optional.of("must be no more than " + MAX_MOUNT_PATH_LENGTH + " characters");
      }
      if (path.equals("/")) {
        return Optional.of("must be a folder below /, not / itself");
      }
      for (String segment : path.substring(1).split("/", -1)) {
        if (segment.isEmpty() || segment.equals(".") || segment.equals("..")) {
          return Optional.of("must not contain an empty, '.' or '..' segment");
        }
      }
      return Optional.empty();
    }
  }

  /** A periodic check of the guest's health. */
  @JsonInclude(JsonInclude.Include.NON_NULL)
  public record HealthCheck(
      @Required HealthCheckType type,
      @Min(1) @Max(65535) Integer port,
      String path,
      List<String> command,
      @Min(1) Integer periodSeconds,
      @Min(1) Integer timeoutSeconds,
      @Min(1) Integer failureThreshold) {}
}
