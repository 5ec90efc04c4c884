package dev.procurator.nodeagent.hypervisor;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;

/** Runs VMs with one hypervisor. Implementations are thread-safe and keep no state of their own. */
public interface Runner {
  /** The hypervisor's name as VM specs and Node status give it ({@code qemu}, ...). */
  String name();

  /** The command line and files for {@code spec}; throws IllegalArgumentException naming what is wrong or missing. */
  LaunchPlan plan(MachineSpec spec);

  /** Starts the plan; returns once the hypervisor process runs (the guest may still be booting). */
  RunningMachine start(LaunchPlan plan) throws IOException;

  /** The files (pidfile, control socket, console) a machine of this runner keeps in {@code workDir}, without a command. */
  LaunchPlan files(Path workDir);

  /** Finds a machine this runner started in {@code plan}'s working directory, if it still runs. */
  Optional<RunningMachine> adopt(LaunchPlan plan);

  /**
   * The machine's run state as its hypervisor reports it ({@code running}, {@code paused},
   * {@code internal-error}, {@code guest-panicked}, ...); empty when it cannot be asked.
   */
  java.util.Optional<String> state(RunningMachine machine);

  /**
   * The unix socket in {@code workDir} that reaches the guest agent of a machine this runner
   * started there (the guest's virtio-serial port {@code procurator.agent}), or empty when this
   * runner gives guests no such channel: exec health checks cannot run then.
   */
  default Optional<Path> guestAgentSocket(Path workDir) {
    return Optional.empty();
  }

  /**
   * Asks the guest to power off, waits up to {@code grace}, then ends the hypervisor forcefully.
   * Blocks until the machine is gone: call it off the reconcile workers.
   */
  void stop(RunningMachine machine, Duration grace) throws IOException;

  /**
   * Calls {@code onChange} when the machine's state may have changed (the guest stopped, panicked
   * or powered off) and once more when its process has exited, until the returned handle is
   * closed. The default follows only the process, through {@link ProcessHandle#onExit}, which for
   * a process that is not the caller's child notices an exit within seconds; runners that can be
   * told sooner override it.
   */
  default AutoCloseable watch(RunningMachine machine, Runnable onChange) {
    java.util.concurrent.CompletableFuture<ProcessHandle> exit = ProcessHandle.of(machine.pid()).map(ProcessHandle::onExit)
        .orElse(java.util.concurrent.CompletableFuture.completedFuture(null));
    exit.thenRun(onChange);
    return () -> exit.cancel(false);
  }
}
