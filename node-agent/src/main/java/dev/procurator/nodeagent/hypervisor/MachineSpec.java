package dev.procurator.nodeagent.hypervisor;

import java.nio.file.Path;
import java.util.List;
import java.util.Objects;

/**
 * What a runner needs to boot one VM: resources, boot files, networking (user-mode with forwarded
 * ports, or a tap device on a bridge), the network namespace to run in (none: the agent's), the
 * VM's own working directory (pidfile, control socket, serial log), and the Nix store its guest
 * mounts (none for a VM that boots plain files).
 */
public record MachineSpec(String name, int cpus, long memoryMiB, Path kernel, Path initrd, String cmdline,
    List<PortForward> ports, Path workDir, Tap tap, String netns, List<Share> shares, GuestStore store) {

  /**
   * The guest's Nix store, read-only at {@code /nix/store}: an erofs {@code image} attached as a
   * disk, or a {@code folder} shared over virtio-9p when there is no image. Exactly one is set.
   */
  public record GuestStore(Path image, Path folder) {
    public GuestStore {
      if ((image == null) == (folder == null)) {
        throw new IllegalArgumentException("a guest store is an image or a folder, not " + image + " and " + folder);
      }
    }

    public static GuestStore image(Path image) {
      return new GuestStore(image, null);
    }

    public static GuestStore folder(Path folder) {
      return new GuestStore(null, folder);
    }
  }

  public MachineSpec(String name, int cpus, long memoryMiB, Path kernel, Path initrd, String cmdline, List<PortForward> ports,
      Path workDir, Tap tap, String netns, List<Share> shares) {
    this(name, cpus, memoryMiB, kernel, initrd, cmdline, ports, workDir, tap, netns, shares, null);
  }

  /** This machine with {@code s} as its guest's store. */
  public MachineSpec withStore(GuestStore s) {
    return new MachineSpec(name, cpus, memoryMiB, kernel, initrd, cmdline, ports, workDir, tap, netns, shares, s);
  }

  /** A host folder shown to the guest read-only (virtio-9p), under {@code tag}; the guest mounts it at {@code guestPath}. */
  public record Share(String tag, Path hostDir, String guestPath) {
    public Share {
      if (!tag.matches("[a-z0-9]{1,31}")) {
        throw new IllegalArgumentException("a share's tag must be 1-31 lowercase letters or digits, not " + tag);
      }
      // it reaches the guest on the kernel command line: the API's rule, checked again here
      var problem = dev.procurator.api.v1alpha1.VMSpec.SecretMount.mountPathProblem(guestPath);
      if (problem.isPresent()) {
        throw new IllegalArgumentException("a share's guest path " + problem.get() + ", not " + guestPath);
      }
    }
  }

  public MachineSpec(String name, int cpus, long memoryMiB, Path kernel, Path initrd, String cmdline, List<PortForward> ports,
      Path workDir, Tap tap, String netns) {
    this(name, cpus, memoryMiB, kernel, initrd, cmdline, ports, workDir, tap, netns, List.of());
  }

  /** A tap device (already created and on its bridge) and the guest's MAC address on it. */
  public record Tap(String device, String mac) {
    public Tap {
      if (!device.matches("[a-zA-Z0-9_-]{1,15}")) {
        throw new IllegalArgumentException("tap device name must be 1-15 letters, digits, - or _, not " + device);
      }
      if (!mac.matches("([0-9a-f]{2}:){5}[0-9a-f]{2}")) {
        throw new IllegalArgumentException("MAC address must be six lowercase hex pairs, not " + mac);
      }
    }
  }

  /** User-mode networking in the agent's own network namespace. */
  public MachineSpec(String name, int cpus, long memoryMiB, Path kernel, Path initrd, String cmdline, List<PortForward> ports,
      Path workDir) {
    this(name, cpus, memoryMiB, kernel, initrd, cmdline, ports, workDir, null, null);
  }

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
    shares = shares == null ? List.of() : List.copyOf(shares);
    if (cpus < 1 || cpus > 64) {
      throw new IllegalArgumentException("cpus must be 1-64, not " + cpus);
    }
    if (memoryMiB < 96) {
      throw new IllegalArgumentException("memory must be at least 96 MiB (the Debian kernel panics with less), not " + memoryMiB);
    }
  }
}
