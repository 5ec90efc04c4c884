package dev.procurator.nodeagent.vm;

import java.time.Instant;
import java.util.List;
import java.util.Optional;

/**
 * What this host knows about one VM's machine at one moment, gathered without waiting for
 * anything: whether its hypervisor process runs, what was launched, whether the guest printed its
 * ready line, what its health checks found, which slow operation is under way, and how the last
 * one ended. {@link VmLifecycle#decide} turns it, with the VM object, into a decision.
 *
 * @param hypervisor the name of the runner for the VM's hypervisor, or empty when this node has none
 * @param accelerator how that runner runs guests here ({@code kvm}, {@code tcg}), or null
 * @param tapAvailable whether this agent can give VMs a tap device
 * @param hasWorkDir whether the VM's working directory exists here
 * @param machine the hypervisor process, if it runs
 * @param launch what was launched in the working directory, or null
 * @param readySeen whether the running machine's guest printed its ready line
 * @param boot whether the boot source is on this host
 * @param inFlight the slow operation under way for this VM, if any
 * @param lastFailure how the last pull or start ended, if it failed and nothing was tried since
 * @param probes what each health check the agent runs found, by the index of the check among them
 * @param console the console's last lines and whether the guest powered off
 */
public record Observation(
    Optional<String> hypervisor,
    String accelerator,
    boolean tapAvailable,
    boolean hasWorkDir,
    Optional<Machine> machine,
    Launch launch,
    boolean readySeen,
    Boot boot,
    Optional<Operation> inFlight,
    Optional<Failure> lastFailure,
    List<Probe> probes,
    Console console,
    List<String> missingSecrets) {

  public Observation {
    probes = List.copyOf(probes);
    missingSecrets = missingSecrets == null ? List.of() : List.copyOf(missingSecrets);
  }

  /** An observation in which every Secret the VM mounts is there. */
  public Observation(Optional<String> hypervisor, String accelerator, boolean tapAvailable, boolean hasWorkDir, Optional<Machine> machine,
      Launch launch, boolean readySeen, Boot boot, Optional<Operation> inFlight, Optional<Failure> lastFailure, List<Probe> probes,
      Console console) {
    this(hypervisor, accelerator, tapAvailable, hasWorkDir, machine, launch, readySeen, boot, inFlight, lastFailure, probes, console,
        List.of());
  }

  /** A hypervisor process that runs: since when, and the guest's state as the hypervisor reports it. */
  public record Machine(long pid, Instant startedAt, Optional<String> state) {}

  /** Whether the boot source is here. */
  public sealed interface Boot {
    /** Kernel (and initrd) are on this host; {@code closure} is the store path they come from, or null for files. */
    record Present(String closure) implements Boot {
      /** Boot files (not a closure) that are here. */
      public Present() {
        this(null);
      }
    }

    /** A closure named in the binary cache, whose store path must be asked for first. */
    record Unresolved(String name) implements Boot {}

    /** A closure that must be pulled from the binary cache first. */
    record NeedsPull(String closure) implements Boot {}

    /** A closure in the store whose guest store (its erofs image) must be prepared first. */
    record NeedsStore(String closure) implements Boot {}

    /** Not here and not to be fetched; the message names the path. */
    record Missing(String reason, String message) implements Boot {
      /** The boot source is not here ({@code BootSourceMissing}). */
      public Missing(String message) {
        this(BootResolver.MISSING, message);
      }
    }
  }

  /** A slow step under way off the worker threads; its end puts the VM back on the queue. */
  public sealed interface Operation {
    record Pulling(String closure) implements Operation {}

    record Resolving(String name) implements Operation {}

    record PreparingStore(String closure) implements Operation {}

    record Starting() implements Operation {}

    record Stopping(String reason) implements Operation {}
  }

  /** How a resolve, pull or start ended that failed. {@code reason} is the condition reason it becomes. */
  public record Failure(Kind kind, String reason, String message, Instant at) {
    public enum Kind { RESOLVE, PULL, START }
  }

  /** A health check's results so far in this boot. */
  public record Probe(int consecutiveFailures, Optional<String> lastDetail, boolean lastPassed, boolean run) {
    public static Probe notRun() {
      return new Probe(0, Optional.empty(), false, false);
    }
  }

  /** The console's last lines and whether the guest said it powered off. */
  public record Console(List<String> lastLines, boolean poweredOff) {
    public Console {
      lastLines = List.copyOf(lastLines);
    }

    /** The last {@code n} lines joined for a message, or "(none)". */
    public String tail(int n) {
      String s = String.join(" | ", lastLines.subList(Math.max(0, lastLines.size() - n), lastLines.size()));
      return s.isBlank() ? "(none)" : s;
    }
  }
}
