package dev.procurator.nodeagent.hypervisor.qemu;

import dev.procurator.nodeagent.hypervisor.LaunchPlan;
import dev.procurator.nodeagent.hypervisor.MachineSpec;
import dev.procurator.nodeagent.hypervisor.Runner;
import dev.procurator.nodeagent.hypervisor.RunningMachine;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;

/**
 * QEMU's {@code microvm} machine: direct (PVH) kernel boot, modern virtio-mmio devices, user
 * networking with ports forwarded to 127.0.0.1, serial console to a file, a virtio-serial port for
 * the guest agent ({@code guest-agent.sock}), daemonized with a
 * pidfile so that a restarted agent can find it again. Two QMP monitors on unix sockets: one for
 * commands ({@code qmp.sock}, held only for one exchange), one that the agent holds open to be
 * told at once when the guest stops, panics or powers off and when QEMU exits ({@code
 * qmp-events.sock}: QEMU closes it as it goes).
 */
public final class QemuMicrovmRunner implements Runner {
  /** How long a QMP command may take before the session is given up. */
  private static final Duration QMP_DEADLINE = Duration.ofSeconds(3);
  static final String EVENTS_SOCKET = "qmp-events.sock";
  /** The 9p tag of a guest store shared as a folder (Secrets' shares are {@code sec0}, {@code sec1}, ...). */
  static final String STORE_TAG = "store";
  /** The socket QEMU connects to the guest agent's virtio-serial port. */
  static final String GUEST_AGENT_SOCKET = "guest-agent.sock";

  private final String binary;
  private final String accelerator;
  private final long hostKhz;

  public QemuMicrovmRunner(String binary, String accelerator, long hostKhz) {
    this.binary = binary;
    this.accelerator = accelerator;
    this.hostKhz = hostKhz;
  }

  /** QEMU from the PATH, the accelerator this host really supports, its clock from /proc/cpuinfo. */
  public static QemuMicrovmRunner forThisHost() {
    long khz = 2_000_000;
    try {
      for (String line : Files.readAllLines(Path.of("/proc/cpuinfo"))) {
        if (line.startsWith("cpu MHz")) {
          khz = (long) (Double.parseDouble(line.substring(line.indexOf(':') + 1).trim()) * 1000);
          break;
        }
      }
    } catch (IOException | NumberFormatException ignored) {
      // keep the default; it only matters for TCG's early clock calibration
    }
    return new QemuMicrovmRunner("qemu-system-x86_64", Accelerator.detect(), khz);
  }

  @Override
  public String name() {
    return "qemu";
  }

  public String accelerator() {
    return accelerator;
  }

  @Override
  public LaunchPlan plan(MachineSpec spec) {
    if (spec.store() != null && spec.store().image() != null && !Files.isRegularFile(spec.store().image())) {
      throw new IllegalArgumentException("store image " + spec.store().image() + " does not exist");
    }
    if (!Files.isRegularFile(spec.kernel())) {
      throw new IllegalArgumentException("kernel " + spec.kernel() + " does not exist");
    }
    if (spec.initrd() != null && !Files.isRegularFile(spec.initrd())) {
      throw new IllegalArgumentException("initrd " + spec.initrd() + " does not exist");
    }
    Path dir = spec.workDir();
    LaunchPlan files = files(dir);
    Path pid = files.pidFile();
    Path qmp = files.controlSocket();
    Path serial = files.serialLog();
    String cmdline = spec.cmdline() == null ? "console=ttyS0" : spec.cmdline();
    if (accelerator.equals("tcg") && !cmdline.contains("tsc_early_khz")) {
      // without it microvm under TCG sometimes hangs calibrating against the PIT
      cmdline += " tsc_early_khz=" + hostKhz;
    }
    for (MachineSpec.Share share : spec.shares()) {
      // the guest mounts each share read-only at its path (examples/guest: procurator.mount=TAG:PATH)
      cmdline += " procurator.mount=" + share.tag() + ":" + share.guestPath();
    }
    if (spec.store() != null) {
      // last on the line: the guest mounts it at /nix/store before it hands over to init= (examples/guest)
      cmdline += spec.store().image() != null ? " procurator.store=/dev/vda procurator.storefs=erofs" : " procurator.store=9p:" + STORE_TAG;
    }
    List<String> cmd = new ArrayList<>();
    if (spec.netns() != null) {
      cmd.addAll(List.of("ip", "netns", "exec", spec.netns()));
    }
    cmd.addAll(List.of(binary,
        "-name", spec.name(),
        "-M", "microvm,acpi=on", "-accel", accelerator,
        "-smp", Integer.toString(spec.cpus()), "-m", spec.memoryMiB() + "M",
        "-nodefaults", "-no-user-config", "-nographic", "-no-reboot",
        "-kernel", spec.kernel().toString()));
    if (accelerator.equals("kvm")) {
      cmd.addAll(List.of("-cpu", "host"));
    }
    if (spec.initrd() != null) {
      cmd.addAll(List.of("-initrd", spec.initrd().toString()));
    }
    cmd.addAll(List.of("-append", cmdline,
        // append=on: the agent caps the log by truncating it, and QEMU must then write from the start
        "-chardev", "file,id=console,path=" + serial + ",append=on", "-serial", "chardev:console",
        "-global", "virtio-mmio.force-legacy=false"));
    if (spec.tap() != null) {
      // QEMU's default MAC is the same for every VM: each gets its own on a shared bridge
      cmd.addAll(List.of("-netdev", "tap,id=n0,ifname=" + spec.tap().device() + ",script=no,downscript=no",
          "-device", "virtio-net-device,netdev=n0,mac=" + spec.tap().mac()));
    } else {
      // restrict=on: the guest reaches nothing through QEMU's user network, not the host's 127.0.0.1
      // (etcd, the cache, the agent) at 10.0.2.2 nor anything beyond; only the forwarded ports reach it
      StringBuilder netdev = new StringBuilder("user,id=n0,restrict=on");
      for (MachineSpec.PortForward p : spec.ports()) {
        netdev.append(",hostfwd=tcp:127.0.0.1:").append(p.host()).append("-:").append(p.guest());
      }
      cmd.addAll(List.of("-netdev", netdev.toString(), "-device", "virtio-net-device,netdev=n0"));
    }
    for (int i = 0; i < spec.shares().size(); i++) {
      MachineSpec.Share share = spec.shares().get(i);
      cmd.addAll(List.of("-fsdev", "local,id=fs" + i + ",path=" + share.hostDir() + ",security_model=none,readonly=on",
          "-device", "virtio-9p-device,fsdev=fs" + i + ",mount_tag=" + share.tag()));
    }
    if (spec.store() != null && spec.store().image() != null) {
      // the only virtio-blk disk, so the guest's /dev/vda
      cmd.addAll(List.of("-drive", "file=" + spec.store().image() + ",format=raw,if=none,readonly=on,id=store",
          "-device", "virtio-blk-device,drive=store"));
    } else if (spec.store() != null) {
      cmd.addAll(List.of("-fsdev", "local,id=store,path=" + spec.store().folder() + ",security_model=none,readonly=on",
          "-device", "virtio-9p-device,fsdev=store,mount_tag=" + STORE_TAG));
    }
    // the guest agent's channel (exec health checks): a virtio-serial port the guest finds by its name
    cmd.addAll(List.of("-device", "virtio-serial-device",
        "-chardev", "socket,id=agent,path=" + dir.resolve(GUEST_AGENT_SOCKET) + ",server=on,wait=off",
        "-device", "virtserialport,chardev=agent,name=" + dev.procurator.nodeagent.guest.GuestAgentProtocol.PORT_NAME));
    cmd.addAll(List.of(
        "-qmp", "unix:" + qmp + ",server=on,wait=off",
        "-qmp", "unix:" + dir.resolve(EVENTS_SOCKET) + ",server=on,wait=off",
        "-daemonize", "-pidfile", pid.toString()));
    return new LaunchPlan(cmd, dir, pid, qmp, serial, accelerator);
  }

  @Override
  public LaunchPlan files(Path dir) {
    return new LaunchPlan(List.of(), dir, dir.resolve("qemu.pid"), dir.resolve("qmp.sock"), dir.resolve("serial.log"), accelerator);
  }

  @Override
  public Optional<Path> guestAgentSocket(Path workDir) {
    return Optional.of(workDir.resolve(GUEST_AGENT_SOCKET));
  }

  @Override
  public RunningMachine start(LaunchPlan plan) throws IOException {
    Files.createDirectories(plan.workDir());
    if (Files.exists(plan.serialLog())) {
      // the previous boot's console stays readable next to the new one
      Files.move(plan.serialLog(), plan.previousSerialLog(), StandardCopyOption.REPLACE_EXISTING);
    }
    Files.deleteIfExists(plan.controlSocket());
    Files.deleteIfExists(plan.workDir().resolve(EVENTS_SOCKET));
    Files.deleteIfExists(plan.workDir().resolve(GUEST_AGENT_SOCKET));
    Process launcher = new ProcessBuilder(plan.command()).redirectErrorStream(true)
        .redirectOutput(plan.workDir().resolve("qemu.out").toFile()).start();
    try {
      if (!launcher.waitFor(30, TimeUnit.SECONDS)) {
        launcher.destroyForcibly();
        throw new IOException("QEMU did not daemonize within 30 s");
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IOException("interrupted while starting QEMU", e);
    }
    if (launcher.exitValue() != 0) {
      throw new IOException("QEMU failed to start: " + Files.readString(plan.workDir().resolve("qemu.out")).trim());
    }
    return adopt(plan).orElseThrow(() -> new IOException("QEMU started but left no running process behind its pidfile"));
  }

  @Override
  public Optional<RunningMachine> adopt(LaunchPlan plan) {
    try {
      if (!Files.exists(plan.pidFile())) {
        return Optional.empty();
      }
      long pid = Long.parseLong(Files.readString(plan.pidFile()).trim());
      Optional<ProcessHandle> p = ProcessHandle.of(pid).filter(ProcessHandle::isAlive);
      // the pid must still be our QEMU, not a later process that reuses the number
      if (p.isEmpty() || p.get().info().command().map(c -> !c.contains("qemu")).orElse(false)) {
        return Optional.empty();
      }
      RunningMachine m = new RunningMachine(pid, plan);
      return m.alive() ? Optional.of(m) : Optional.empty();
    } catch (IOException | NumberFormatException e) {
      return Optional.empty();
    }
  }

  /** The guest's run state as QMP reports it ({@code running}, {@code internal-error}, ...). */
  public String status(RunningMachine m) throws IOException {
    try (Qmp qmp = Qmp.connect(m.plan().controlSocket(), QMP_DEADLINE)) {
      return qmp.execute("query-status").path("status").asText();
    }
  }

  @Override
  public Optional<String> state(RunningMachine m) {
    try {
      return Optional.of(status(m));
    } catch (IOException e) {
      return Optional.empty();
    }
  }

  /**
   * Holds the machine's event monitor on a virtual thread: each event (STOP, SHUTDOWN,
   * GUEST_PANICKED, ...) calls {@code onChange}, and so does QEMU's exit, which closes the monitor.
   * A machine started without the event monitor is followed by its process alone.
   */
  @Override
  public AutoCloseable watch(RunningMachine m, Runnable onChange) {
    Path socket = m.plan().workDir().resolve(EVENTS_SOCKET);
    Qmp events;
    try {
      events = Qmp.connectForEvents(socket);
    } catch (IOException e) {
      return Runner.super.watch(m, onChange);
    }
    java.util.concurrent.atomic.AtomicBoolean closed = new java.util.concurrent.atomic.AtomicBoolean();
    Thread.ofVirtual().name("qmp-events-" + m.pid()).start(() -> {
      try {
        events.readEvents(e -> onChange.run());
      } catch (IOException e) {
        // closed by us, or QEMU went
      }
      if (closed.get()) {
        return;
      }
      // QEMU closes its monitors just before it exits: tell the caller once the process is gone
      long deadline = System.nanoTime() + Duration.ofSeconds(5).toNanos();
      while (m.alive() && System.nanoTime() < deadline) {
        LockSupport.parkNanos(Duration.ofMillis(5).toNanos());
      }
      if (!closed.get()) {
        onChange.run();
      }
    });
    return () -> {
      closed.set(true);
      events.close();
    };
  }

  @Override
  public void stop(RunningMachine m, Duration grace) throws IOException {
    if (!m.alive()) {
      return;
    }
    try (Qmp qmp = Qmp.connect(m.plan().controlSocket(), QMP_DEADLINE)) {
      qmp.execute("system_powerdown");
    } catch (IOException e) {
      // no control socket: fall through to the forceful end
    }
    // QEMU removes its pidfile slightly before it exits: wait on the process, not the file
    long deadline = System.nanoTime() + grace.toNanos();
    while (m.alive() && System.nanoTime() < deadline) {
      LockSupport.parkNanos(Duration.ofMillis(50).toNanos());
    }
    if (m.alive()) {
      try (Qmp qmp = Qmp.connect(m.plan().controlSocket(), QMP_DEADLINE)) {
        qmp.execute("quit");
      } catch (IOException e) {
        // already gone, or QMP unusable
      }
      long quitDeadline = System.nanoTime() + Duration.ofSeconds(2).toNanos();
      while (m.alive() && System.nanoTime() < quitDeadline) {
        LockSupport.parkNanos(Duration.ofMillis(50).toNanos());
      }
    }
    ProcessHandle.of(m.pid()).ifPresent(p -> {
      if (p.isAlive()) {
        p.destroyForcibly();
      }
    });
  }
}
