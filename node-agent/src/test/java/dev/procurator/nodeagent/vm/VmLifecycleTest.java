package dev.procurator.nodeagent.vm;

import static org.assertj.core.api.Assertions.assertThat;

import dev.procurator.api.runtime.Conditions;
import dev.procurator.api.runtime.Decision;
import dev.procurator.api.runtime.EventSpec;
import dev.procurator.api.v1alpha1.NodeAgreements;
import dev.procurator.api.v1alpha1.HealthCheckType;
import dev.procurator.api.v1alpha1.NetworkMode;
import dev.procurator.api.v1alpha1.RestartPolicy;
import dev.procurator.api.v1alpha1.VM;
import dev.procurator.api.v1alpha1.VMPhase;
import dev.procurator.api.v1alpha1.VMSpec;
import dev.procurator.api.v1alpha1.VMStatus;
import io.fabric8.kubernetes.api.model.Condition;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.function.Consumer;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.api.Test;

/**
 * The VM lifecycle, row by row: each row is a VM (spec and status), what the host observes, and
 * what {@link VmLifecycle#decide} must do about it. No I/O, no threads, no clock but the one given.
 */
class VmLifecycleTest {
  static final Instant NOW = Instant.parse("2026-12-02T12:00:00Z");
  static final VmLoop.Settings SETTINGS = new VmLoop.Settings(Duration.ofSeconds(120), Duration.ofSeconds(20),
      Duration.ofSeconds(1), Duration.ofMinutes(5), 1 << 20, Duration.ofSeconds(30));
  static final VMSpec.HealthCheck HTTP = new VMSpec.HealthCheck(HealthCheckType.HTTP, 8080, "/healthz", null, 1, 1, 3);
  static final VMSpec.HealthCheck EXEC = new VMSpec.HealthCheck(HealthCheckType.EXEC, null, null, List.of("test", "-f", "/www/healthz"),
      1, 1, 3);

  // ---- building rows ----

  /** A VM bound to node-a, with our finalizer, generation 1, and the given status. */
  static VM vm(Consumer<VmBuilder> how) {
    VmBuilder b = new VmBuilder();
    how.accept(b);
    return b.build();
  }

  static final class VmBuilder {
    RestartPolicy policy;
    List<VMSpec.HealthCheck> checks;
    NetworkMode network;
    List<VMSpec.SecretMount> secrets;
    String closure;
    String closureName;
    boolean finalizer = true;
    boolean deleting;
    long generation = 1;
    VMStatus status;

    VmBuilder policy(RestartPolicy p) {
      policy = p;
      return this;
    }

    VmBuilder checks(VMSpec.HealthCheck... c) {
      checks = List.of(c);
      return this;
    }

    VmBuilder status(VMPhase phase, String bootedStatus, String bootedReason) {
      return status(phase, bootedStatus, bootedReason, 0, null);
    }

    VmBuilder status(VMPhase phase, String bootedStatus, String bootedReason, int restarts, VMStatus.RestartBackoff backoff) {
      List<Condition> conditions = new ArrayList<>();
      conditions.add(Conditions.of("Booted", bootedStatus, bootedReason, bootedReason + " message", NOW.minusSeconds(300)));
      status = new VMStatus(phase, "node-a", 1L, conditions, bootedReason + " message", restarts, null, backoff);
      return this;
    }

    VM build() {
      VM vm = new VM();
      ObjectMetaBuilder meta = new ObjectMetaBuilder().withName("web").withNamespace("default").withGeneration(generation);
      if (finalizer) {
        meta.withFinalizers(NodeAgreements.AGENT_FINALIZER);
      }
      if (deleting) {
        meta.withDeletionTimestamp(NOW.minusSeconds(1).toString());
      }
      vm.setMetadata(meta.build());
      VMSpec.Boot boot = closureName != null ? new VMSpec.Boot(closure, null, null, null, closureName)
          : closure != null ? new VMSpec.Boot(closure, null, null, null)
          : new VMSpec.Boot(null, "hello/vmlinux", "hello/initrd.cpio.gz", "console=ttyS0");
      vm.setSpec(new VMSpec(1, "128Mi", null, boot, "node-a", null,
          new VMSpec.Network(network, List.of(new VMSpec.PortForward(8080, null))), secrets, checks, policy, null));
      vm.setStatus(status);
      return vm;
    }
  }

  /** What the host sees: by default no machine, nothing under way, the boot files present. */
  static final class Seen {
    Optional<String> hypervisor = Optional.of("qemu");
    boolean tap = false;
    boolean workDir = true;
    Optional<Observation.Machine> machine = Optional.empty();
    Launch launch;
    boolean ready;
    Observation.Boot boot = new Observation.Boot.Present();
    Optional<Observation.Operation> inFlight = Optional.empty();
    Optional<Observation.Failure> failure = Optional.empty();
    List<Observation.Probe> probes = List.of();
    boolean poweredOff;
    List<String> missingSecrets = List.of();

    Seen running(VM vm, Duration upFor) {
      machine = Optional.of(new Observation.Machine(4242, NOW.minus(upFor), Optional.of("running")));
      launch = Launch.of(vm.getSpec(), List.of(new VMSpec.PortForward(8080, 40001)));
      return this;
    }

    Seen launched(VM vm) {
      launch = Launch.of(vm.getSpec(), List.of(new VMSpec.PortForward(8080, 40001)));
      return this;
    }

    Observation build() {
      return new Observation(hypervisor, "tcg", tap, workDir, machine, launch, ready, boot, inFlight, failure, probes,
          new Observation.Console(List.of("booting", "last line"), poweredOff), missingSecrets);
    }
  }

  static Decision<VMStatus, VmAction> decide(VM vm, Seen seen) {
    return VmLifecycle.decide(vm, seen.build(), NOW, SETTINGS);
  }

  static Condition booted(VMStatus s) {
    return Conditions.find(s.conditions(), "Booted").orElseThrow();
  }

  static List<String> eventReasons(Decision<VMStatus, VmAction> d) {
    return d.events().stream().map(EventSpec::reason).toList();
  }

  // ---- the table ----

  record Row(String name, VM vm, Seen seen, VMPhase phase, String bootedReason, List<VmAction> actions, List<String> events,
      String healthy, boolean released) {
    @Override
    public String toString() {
      return name;
    }

    /** The row, also expecting the Healthy condition as {@code STATUS/REASON}. */
    Row healthy(String statusAndReason) {
      return new Row(name, vm, seen, phase, bootedReason, actions, events, statusAndReason, released);
    }

    /** The row, also expecting the VM to be let go (the agent's finalizer removed) once its actions are done. */
    Row lettingGo() {
      return new Row(name, vm, seen, phase, bootedReason, actions, events, healthy, true);
    }
  }

  static Row row(String name, VM vm, Seen seen, VMPhase phase, String bootedReason, List<VmAction> actions, String... events) {
    return new Row(name, vm, seen, phase, bootedReason, actions, List.of(events), null, false);
  }

  static Stream<Arguments> rows() {
    VM fresh = vm(b -> { });
    VM starting = vm(b -> b.status(VMPhase.STARTING, "False", "Booting"));
    VM running = vm(b -> b.status(VMPhase.RUNNING, "True", "Ready"));
    VM runningChecked = vm(b -> b.checks(HTTP).status(VMPhase.RUNNING, "True", "Ready"));
    VM neverRunning = vm(b -> b.policy(RestartPolicy.NEVER).status(VMPhase.RUNNING, "True", "Ready"));
    VM onFailureRunning = vm(b -> b.policy(RestartPolicy.ON_FAILURE).status(VMPhase.RUNNING, "True", "Ready"));
    VM backingOff = vm(b -> b.status(VMPhase.FAILED, "False", "BackOff", 2, new VMStatus.RestartBackoff(2, NOW.plusSeconds(2).toString())));
    VM backedOff = vm(b -> b.status(VMPhase.FAILED, "False", "BackOff", 2, new VMStatus.RestartBackoff(2, NOW.minusSeconds(1).toString())));
    VM deletingRunning = vm(b -> { b.deleting = true; b.status(VMPhase.RUNNING, "True", "Ready"); });
    VM deletingBooting = vm(b -> { b.deleting = true; b.status(VMPhase.STARTING, "False", "Booting"); });
    VM deletingInBackoff = vm(b -> { b.deleting = true; b.status(VMPhase.FAILED, "False", "BackOff", 1,
        new VMStatus.RestartBackoff(1, NOW.plusSeconds(30).toString())); });
    VM finalFailed = vm(b -> b.policy(RestartPolicy.NEVER).status(VMPhase.FAILED, "False", "Crashed"));
    VM finalFailedNewSpec = vm(b -> { b.policy(RestartPolicy.NEVER); b.status(VMPhase.FAILED, "False", "Crashed"); b.generation = 2; });
    VM closure = vm(b -> b.closure = "/nix/store/0123456789abcdfghijklmnpqrsvwxyz-guest");
    VM tapVm = vm(b -> b.network = NetworkMode.TAP);
    VM stopping = vm(b -> b.status(VMPhase.STOPPING, "False", "SpecChanged"));
    VM crashedWhileStopping = vm(b -> b.status(VMPhase.FAILED, "False", "BackOff", 1, new VMStatus.RestartBackoff(1, NOW.plusSeconds(1).toString())));

    Seen changedLaunch = new Seen().running(running, Duration.ofMinutes(5));
    changedLaunch.launch = Launch.of(vm(b -> b.checks(HTTP)).getSpec(), List.of());
    Seen failingProbe = new Seen().running(runningChecked, Duration.ofMinutes(5));
    failingProbe.probes = List.of(new Observation.Probe(1, Optional.of("http GET /healthz answered 500"), false, true));
    Seen deadProbe = new Seen().running(runningChecked, Duration.ofMinutes(5));
    deadProbe.probes = List.of(new Observation.Probe(3, Optional.of("http GET /healthz answered 500"), false, true));
    Seen passing = new Seen().running(runningChecked, Duration.ofMinutes(5));
    passing.probes = List.of(new Observation.Probe(0, Optional.of("http GET /healthz answered 200"), true, true));
    VM runningExec = vm(b -> b.checks(EXEC, HTTP).status(VMPhase.RUNNING, "True", "Ready"));
    Seen execPassing = new Seen().running(runningExec, Duration.ofMinutes(5));
    execPassing.probes = List.of(new Observation.Probe(0, Optional.of("exec test -f /www/healthz: exit 0"), true, true),
        new Observation.Probe(0, Optional.of("http GET /healthz answered 200"), true, true));
    Seen execFailing = new Seen().running(runningExec, Duration.ofMinutes(5));
    execFailing.probes = List.of(new Observation.Probe(1, Optional.of("exec test -f /www/healthz: exit 1"), false, true),
        new Observation.Probe(0, Optional.of("http GET /healthz answered 200"), true, true));
    VM tapChecked = vm(b -> { b.network = NetworkMode.TAP; b.checks(HTTP, EXEC).status(VMPhase.RUNNING, "True", "Ready"); });
    Seen tapPassing = new Seen().running(tapChecked, Duration.ofMinutes(5));
    tapPassing.tap = true;
    tapPassing.probes = List.of(new Observation.Probe(0, Optional.of("http GET /healthz answered 200"), true, true),
        new Observation.Probe(0, Optional.of("exec test -f /www/healthz: exit 0"), true, true));
    Seen internalError = new Seen().running(running, Duration.ofMinutes(5));
    internalError.machine = Optional.of(new Observation.Machine(4242, NOW.minusSeconds(300), Optional.of("internal-error")));
    Seen exitedClean = new Seen().launched(running);
    exitedClean.poweredOff = true;
    Seen pullFailed = new Seen();
    pullFailed.boot = new Observation.Boot.NeedsPull("/nix/store/0123456789abcdfghijklmnpqrsvwxyz-guest");
    pullFailed.failure = Optional.of(new Observation.Failure(Observation.Failure.Kind.PULL, "BootSourceMissing",
        "closure could not be pulled: 404", NOW.minusSeconds(2)));
    Seen needsPull = new Seen();
    needsPull.boot = new Observation.Boot.NeedsPull("/nix/store/0123456789abcdfghijklmnpqrsvwxyz-guest");
    Seen needsStore = new Seen();
    needsStore.boot = new Observation.Boot.NeedsStore("/nix/store/0123456789abcdfghijklmnpqrsvwxyz-guest");
    Seen preparingStore = new Seen();
    preparingStore.boot = needsStore.boot;
    preparingStore.inFlight = Optional.of(new Observation.Operation.PreparingStore("/nix/store/0123456789abcdfghijklmnpqrsvwxyz-guest"));
    VM named = vm(b -> b.closureName = "hello");
    Seen unresolved = new Seen();
    unresolved.boot = new Observation.Boot.Unresolved("hello");
    Seen nameUnknown = resolveFailed(BootResolver.NAME_NOT_FOUND, "no closure is named hello");
    Seen cacheUnreachable = resolveFailed(BootResolver.MISSING, "closure name hello cannot be resolved: the agent has no binary cache");
    Seen cacheDown = resolveFailed(BootResolver.CACHE_UNAVAILABLE, "closure name hello could not be resolved: connection refused");
    Seen nameResolvedHere = new Seen();
    nameResolvedHere.boot = new Observation.Boot.Present("/nix/store/0123456789abcdfghijklmnpqrsvwxyz-guest");
    Seen missing = new Seen();
    missing.boot = new Observation.Boot.Missing("kernel /images/hello/vmlinux does not exist");
    Seen noHypervisor = new Seen();
    noHypervisor.hypervisor = Optional.empty();
    Seen startFailed = new Seen();
    startFailed.failure = Optional.of(new Observation.Failure(Observation.Failure.Kind.START, "InvalidSpec", "kernel is not a file",
        NOW.minusSeconds(1)));
    Seen stopUnderWay = new Seen().running(running, Duration.ofMinutes(5));
    stopUnderWay.inFlight = Optional.of(new Observation.Operation.Stopping("Deleting"));
    Seen startUnderWay = new Seen();
    startUnderWay.inFlight = Optional.of(new Observation.Operation.Starting());
    Seen readyNow = new Seen().running(starting, Duration.ofSeconds(3));
    readyNow.ready = true;

    return Stream.of(
        row("a new VM boots", fresh, new Seen(), VMPhase.STARTING, "Booting", List.of(new VmAction.Start(false)), "Starting"),
        row("a boot under way waits for the ready line", starting, new Seen().running(starting, Duration.ofSeconds(3)),
            VMPhase.STARTING, "Booting", List.of()),
        row("the ready line makes it Running", starting, readyNow, VMPhase.RUNNING, "Ready", List.of(), "Ready"),
        row("no ready line within the boot timeout: stopped, restarted after backoff", starting,
            new Seen().running(starting, Duration.ofSeconds(121)), VMPhase.FAILED, "BackOff",
            List.of(new VmAction.CountFailure("BootTimeout"), new VmAction.Stop("BootTimeout")), "BootTimeout", "BackOff"),
        row("a running VM is left alone", running, new Seen().running(running, Duration.ofMinutes(5)), VMPhase.RUNNING, "Ready", List.of()),
        row("a failing check below its threshold is reported, not acted on", runningChecked, failingProbe, VMPhase.RUNNING, "Ready",
            List.of(new VmAction.WatchHealth(List.of(HTTP))), "Unhealthy").healthy("False/CheckFailing"),
        row("checks failing up to the threshold stop it and restart it", runningChecked, deadProbe, VMPhase.FAILED, "BackOff",
            List.of(new VmAction.CountFailure("Unhealthy"), new VmAction.Stop("Unhealthy")), "Unhealthy", "BackOff"),
        row("passing checks make it Healthy", runningChecked, passing, VMPhase.RUNNING, "Ready",
            List.of(new VmAction.WatchHealth(List.of(HTTP)))).healthy("True/ChecksPassing"),
        row("exec checks run beside http ones, and passing make it Healthy", runningExec, execPassing, VMPhase.RUNNING, "Ready",
            List.of(new VmAction.WatchHealth(List.of(EXEC, HTTP)))).healthy("True/ChecksPassing"),
        row("a failing exec check is reported like any other", runningExec, execFailing, VMPhase.RUNNING, "Ready",
            List.of(new VmAction.WatchHealth(List.of(EXEC, HTTP))), "Unhealthy").healthy("False/CheckFailing"),
        row("a tap VM's checks run too", tapChecked, tapPassing, VMPhase.RUNNING, "Ready",
            List.of(new VmAction.WatchHealth(List.of(HTTP, EXEC)))).healthy("True/ChecksPassing"),
        row("a guest the hypervisor reports dead is a crash", running, internalError, VMPhase.FAILED, "BackOff",
            List.of(new VmAction.CountFailure("Crashed"), new VmAction.Stop("Crashed")), "Crashed", "BackOff"),
        row("a machine that went away without powering off crashed (Always: restart)", running, new Seen().launched(running),
            VMPhase.FAILED, "BackOff", List.of(new VmAction.CountFailure("Crashed")), "Crashed", "BackOff"),
        row("a crash under OnFailure restarts", onFailureRunning, new Seen().launched(onFailureRunning), VMPhase.FAILED, "BackOff",
            List.of(new VmAction.CountFailure("Crashed")), "Crashed", "BackOff"),
        row("a clean power-off under OnFailure stays Stopped", onFailureRunning, exitedClean(onFailureRunning), VMPhase.STOPPED, "Exited",
            List.of(), "Exited"),
        row("a clean power-off under Always restarts", running, exitedClean, VMPhase.STOPPED, "BackOff", List.of(), "Exited", "BackOff"),
        row("a crash under Never stays Failed", neverRunning, new Seen().launched(neverRunning), VMPhase.FAILED, "Crashed",
            List.of(new VmAction.CountFailure("Crashed")), "Crashed"),
        row("within its backoff a failed VM waits", backingOff, new Seen().launched(backingOff), VMPhase.FAILED, "BackOff", List.of()),
        row("after its backoff a failed VM restarts", backedOff, new Seen().launched(backedOff), VMPhase.STARTING, "Booting",
            List.of(new VmAction.Start(true)), "Starting"),
        row("a final failure stays down", finalFailed, new Seen().launched(finalFailed), VMPhase.FAILED, "Crashed", List.of()),
        row("a final failure boots again once the spec changes", finalFailedNewSpec, new Seen().launched(finalFailedNewSpec),
            VMPhase.STARTING, "Booting", List.of(new VmAction.Start(false)), "Starting"),
        row("a spec change stops the machine to boot anew", running, changedLaunch, VMPhase.STOPPING, "SpecChanged",
            List.of(new VmAction.Stop("SpecChanged")), "Killing"),
        row("after the stop for a spec change it boots the new spec", stopping, new Seen().launched(stopping), VMPhase.STARTING, "Booting",
            List.of(new VmAction.Start(false)), "Starting"),
        row("a machine that runs while the status says it failed is stopped (an agent died mid-stop)", crashedWhileStopping,
            new Seen().running(crashedWhileStopping, Duration.ofMinutes(1)), VMPhase.FAILED, "BackOff", List.of(new VmAction.Stop("BackOff"))),
        row("deleting a running VM powers it off first", deletingRunning, new Seen().running(deletingRunning, Duration.ofMinutes(5)),
            VMPhase.STOPPING, "Deleting", List.of(new VmAction.Stop("Deleting")), "Killing"),
        row("deleting a VM during its boot powers it off first", deletingBooting, new Seen().running(deletingBooting, Duration.ofSeconds(1)),
            VMPhase.STOPPING, "Deleting", List.of(new VmAction.Stop("Deleting")), "Killing"),
        row("deleting while the stop is under way waits for it", deletingRunning, stopUnderWay, VMPhase.STOPPING, "Deleting", List.of()),
        row("deleting while a start is under way waits for the machine", deletingBooting, startUnderWay, VMPhase.STOPPING, "Deleting",
            List.of()),
        row("deleting a VM waiting to restart releases it at once", deletingInBackoff, new Seen().launched(deletingInBackoff),
            VMPhase.FAILED, "BackOff", List.of(new VmAction.Release())).lettingGo(),
        row("a closure not in the store is pulled first", closure, needsPull, VMPhase.STARTING, "Pulling",
            List.of(new VmAction.Pull("/nix/store/0123456789abcdfghijklmnpqrsvwxyz-guest")), "Pulling"),
        row("a closure in the store gets its store image before it boots", closure, needsStore, VMPhase.STARTING, "PreparingStore",
            List.of(new VmAction.PrepareStore("/nix/store/0123456789abcdfghijklmnpqrsvwxyz-guest")), "PreparingStore"),
        row("while its store image is built the VM waits", vm(b -> {
              b.closure = "/nix/store/0123456789abcdfghijklmnpqrsvwxyz-guest";
              b.status(VMPhase.STARTING, Conditions.FALSE, "PreparingStore");
            }), preparingStore, VMPhase.STARTING, "PreparingStore", List.of()),
        row("a pull that failed is reported and tried again later", closure, pullFailed, VMPhase.FAILED, "BootSourceMissing",
            List.of(new VmAction.CountFailure("BootSourceMissing")), "BootSourceMissing"),
        row("a closure name is resolved through the cache first", named, unresolved, VMPhase.STARTING, "Resolving",
            List.of(new VmAction.Resolve("hello"))),
        row("a name the cache does not know leaves the VM Pending, to be asked again", named, nameUnknown, VMPhase.PENDING,
            BootResolver.NAME_NOT_FOUND, List.of(new VmAction.CountFailure(BootResolver.NAME_NOT_FOUND)), BootResolver.NAME_NOT_FOUND),
        row("a node without a cache cannot have a named closure", named, cacheUnreachable, VMPhase.FAILED,
            BootResolver.MISSING, List.of(new VmAction.CountFailure(BootResolver.MISSING)), BootResolver.MISSING),
        row("a cache that cannot answer now leaves the VM Pending here, to ask again", named, cacheDown, VMPhase.PENDING,
            BootResolver.CACHE_UNAVAILABLE, List.of(new VmAction.CountFailure(BootResolver.CACHE_UNAVAILABLE)),
            BootResolver.CACHE_UNAVAILABLE),
        row("a resolved closure in the store boots", named, nameResolvedHere, VMPhase.STARTING, "Booting",
            List.of(new VmAction.Start(false)), "Starting"),
        row("a missing kernel fails with its path", fresh, missing, VMPhase.FAILED, "BootSourceMissing",
            List.of(new VmAction.CountFailure("BootSourceMissing")), "BootSourceMissing"),
        row("a node without the hypervisor fails it", fresh, noHypervisor, VMPhase.FAILED, "HypervisorUnavailable", List.of(),
            "HypervisorUnavailable"),
        row("tap networking without a bridge is refused", tapVm, new Seen(), VMPhase.FAILED, "Unsupported", List.of(), "Unsupported"),
        row("a start refused for an invalid plan fails for good", starting, startFailed, VMPhase.FAILED, "InvalidSpec", List.of(),
            "InvalidSpec"))
        .map(Arguments::of);
  }

  /** The closure name hello unresolved, its last resolve a moment ago failed for {@code reason}. */
  static Seen resolveFailed(String reason, String message) {
    Seen s = new Seen();
    s.boot = new Observation.Boot.Unresolved("hello");
    s.failure = Optional.of(new Observation.Failure(Observation.Failure.Kind.RESOLVE, reason, message, NOW.minusSeconds(2)));
    return s;
  }

  static Seen exitedClean(VM vm) {
    Seen s = new Seen().launched(vm);
    s.poweredOff = true;
    return s;
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("rows")
  void decides(Row row) {
    Decision<VMStatus, VmAction> d = decide(row.vm(), row.seen());
    VMStatus status = d.status() != null ? d.status() : row.vm().getStatus();
    assertThat(status.phase()).as("phase").isEqualTo(row.phase());
    assertThat(booted(status).getReason()).as("Booted reason").isEqualTo(row.bootedReason());
    assertThat(d.actions()).as("actions").containsExactlyElementsOf(row.actions());
    assertThat(eventReasons(d)).as("events").containsExactlyElementsOf(row.events());
    assertThat(d.released()).as("lets the VM go").isEqualTo(row.released());
    if (row.healthy() != null) {
      Condition healthy = Conditions.find(status.conditions(), "Healthy").orElseThrow();
      assertThat(healthy.getStatus() + "/" + healthy.getReason()).as("Healthy").isEqualTo(row.healthy());
    }
  }

  // ---- what the table cannot say in one line ----

  @Test
  void aVmWhoseSecretIsMissingWaitsPendingNamingItAndDoesNotStart() {
    Seen seen = new Seen();
    seen.missingSecrets = List.of("db-creds");
    Decision<VMStatus, VmAction> d = decide(vm(b -> { }), seen);
    assertThat(d.status().phase()).isEqualTo(VMPhase.PENDING);
    Condition c = Conditions.find(d.status().conditions(), "SecretsReady").orElseThrow();
    assertThat(c.getStatus()).isEqualTo("False");
    assertThat(c.getReason()).isEqualTo("SecretNotFound");
    assertThat(c.getMessage()).contains("db-creds").contains("default");
    assertThat(d.actions()).noneMatch(a -> a instanceof VmAction.Start);
    assertThat(eventReasons(d)).containsExactly("SecretNotFound");
    assertThat(d.requeueAfter()).isNotNull();
  }

  @Test
  void aWaitingVmSaysSoOnceNotOnEveryLook() {
    Seen seen = new Seen();
    seen.missingSecrets = List.of("db-creds");
    Decision<VMStatus, VmAction> first = decide(vm(b -> { }), seen);
    VM waiting = vm(b -> b.status = first.status());
    Decision<VMStatus, VmAction> again = decide(waiting, seen);
    assertThat(eventReasons(again)).isEmpty();
  }

  @Test
  void backoffDoublesWithEachFailureInARowAndIsKeptInStatus() {
    VM vm = vm(b -> b.status(VMPhase.RUNNING, "True", "Ready", 3, new VMStatus.RestartBackoff(3, NOW.minusSeconds(10).toString())));
    Decision<VMStatus, VmAction> d = decide(vm, new Seen().launched(vm));
    assertThat(d.status().backoff().failures()).isEqualTo(4);
    assertThat(Instant.parse(d.status().backoff().restartAt())).isEqualTo(NOW.plusSeconds(8));
    assertThat(d.requeueAfter()).isEqualTo(Duration.ofSeconds(8));
    assertThat(d.status().message()).contains("restarting in 8.0 s");
  }

  @Test
  void backoffStopsAtItsMaximum() {
    VM vm = vm(b -> b.status(VMPhase.RUNNING, "True", "Ready", 30, new VMStatus.RestartBackoff(30, NOW.minusSeconds(10).toString())));
    assertThat(decide(vm, new Seen().launched(vm)).requeueAfter()).isEqualTo(Duration.ofMinutes(5));
  }

  @Test
  void aVmThatRanWellForAMinuteStartsANewCount() {
    VM vm = vm(b -> b.status(VMPhase.RUNNING, "True", "Ready", 3, new VMStatus.RestartBackoff(3, NOW.minusSeconds(600).toString())));
    Seen seen = new Seen().running(vm, Duration.ofMinutes(2));
    seen.machine = Optional.of(new Observation.Machine(4242, NOW.minusSeconds(120), Optional.of("internal-error")));
    Decision<VMStatus, VmAction> d = decide(vm, seen);
    assertThat(d.status().backoff().failures()).isEqualTo(1);
    assertThat(d.requeueAfter()).isEqualTo(Duration.ofSeconds(1));
  }

  @Test
  void aRunningVmForgetsItsBackoffOnceStable() {
    VM vm = vm(b -> b.status(VMPhase.RUNNING, "True", "Ready", 3, new VMStatus.RestartBackoff(3, NOW.minusSeconds(600).toString())));
    Decision<VMStatus, VmAction> young = decide(vm, new Seen().running(vm, Duration.ofSeconds(40)));
    assertThat(young.status() == null ? vm.getStatus().backoff() : young.status().backoff()).isNotNull();
    assertThat(young.requeueAfter()).isEqualTo(Duration.ofSeconds(20));
    Decision<VMStatus, VmAction> stable = decide(vm, new Seen().running(vm, Duration.ofSeconds(61)));
    assertThat(stable.status().backoff()).isNull();
    assertThat(stable.status().restartCount()).isEqualTo(3);
  }

  @Test
  void aRestartCountsAndKeepsTheBackoffUntilTheVmIsStable() {
    VM vm = vm(b -> b.status(VMPhase.FAILED, "False", "BackOff", 2, new VMStatus.RestartBackoff(2, NOW.minusSeconds(1).toString())));
    Decision<VMStatus, VmAction> d = decide(vm, new Seen().launched(vm));
    assertThat(d.status().restartCount()).isEqualTo(3);
    assertThat(d.status().backoff()).isEqualTo(new VMStatus.RestartBackoff(2, NOW.minusSeconds(1).toString()));
  }

  @Test
  void aGuestAgentThatDoesNotAnswerIsNamedInTheHealthyCondition() {
    VM vm = vm(b -> b.checks(EXEC).status(VMPhase.RUNNING, "True", "Ready"));
    Seen seen = new Seen().running(vm, Duration.ofMinutes(5));
    String silent = "exec test -f /www/healthz: the guest agent did not answer within 4 s";
    seen.probes = List.of(new Observation.Probe(1, Optional.of(silent), false, true));
    Decision<VMStatus, VmAction> d = decide(vm, seen);
    Condition healthy = Conditions.find(d.status().conditions(), "Healthy").orElseThrow();
    assertThat(healthy.getStatus()).isEqualTo("False");
    assertThat(healthy.getMessage()).isEqualTo(silent + " (1 of 3)");

    seen.probes = List.of(new Observation.Probe(3, Optional.of(silent), false, true));
    VM failed = vm(b -> b.checks(EXEC).policy(RestartPolicy.NEVER).status(VMPhase.RUNNING, "True", "Ready"));
    Decision<VMStatus, VmAction> down = decide(failed, seen);
    assertThat(down.status().message()).isEqualTo("health check failed 3 times in a row: " + silent);
    assertThat(Conditions.find(down.status().conditions(), "Healthy").orElseThrow().getMessage()).isEqualTo(silent);
  }

  @Test
  void unhealthyIsReportedAsTheCauseAndHealthyFalse() {
    VM vm = vm(b -> b.checks(HTTP).policy(RestartPolicy.NEVER).status(VMPhase.RUNNING, "True", "Ready"));
    Seen seen = new Seen().running(vm, Duration.ofMinutes(5));
    seen.probes = List.of(new Observation.Probe(3, Optional.of("tcp port 9: connection refused"), false, true));
    Decision<VMStatus, VmAction> d = decide(vm, seen);
    assertThat(d.status().phase()).isEqualTo(VMPhase.FAILED);
    assertThat(booted(d.status()).getReason()).isEqualTo("Unhealthy");
    assertThat(d.status().message()).isEqualTo("health check failed 3 times in a row: tcp port 9: connection refused");
    Condition healthy = Conditions.find(d.status().conditions(), "Healthy").orElseThrow();
    assertThat(healthy.getStatus()).isEqualTo("False");
    assertThat(healthy.getReason()).isEqualTo("Unhealthy");
  }

  @Test
  void aBootTimeoutNamesTheLimitAndTheLastConsoleLines() {
    VM vm = vm(b -> b.policy(RestartPolicy.ON_FAILURE).status(VMPhase.STARTING, "False", "Booting"));
    Decision<VMStatus, VmAction> d = decide(vm, new Seen().running(vm, Duration.ofSeconds(130)));
    assertThat(d.status().message()).startsWith("the guest did not print PROCURATOR-READY within 120 s; last console lines: booting | last line")
        .contains("restarting in 1.0 s");
  }

  @Test
  void aBootingVmIsLookedAtAgainAtItsDeadline() {
    VM vm = vm(b -> b.status(VMPhase.STARTING, "False", "Booting"));
    assertThat(decide(vm, new Seen().running(vm, Duration.ofSeconds(20))).requeueAfter()).isEqualTo(Duration.ofSeconds(100));
  }

  @Test
  void theReadyLineSaysHowLongTheBootTookAndPublishesThePorts() {
    VM vm = vm(b -> b.checks(HTTP).status(VMPhase.STARTING, "False", "Booting"));
    Seen seen = new Seen().running(vm, Duration.ofMillis(2400));
    seen.ready = true;
    Decision<VMStatus, VmAction> d = decide(vm, seen);
    assertThat(booted(d.status()).getMessage()).isEqualTo("the guest printed its ready line 2.4 s after start");
    assertThat(d.status().ports()).containsExactly(new VMSpec.PortForward(8080, 40001));
    assertThat(Conditions.find(d.status().conditions(), "Healthy").orElseThrow().getReason()).isEqualTo("NotYetChecked");
    assertThat(d.actions()).containsExactly(new VmAction.WatchHealth(List.of(HTTP)));
  }

  @Test
  void aBootSourceMissingIsCountedOncePerEpisode() {
    VM vm = vm(b -> b.status(VMPhase.FAILED, "False", "BootSourceMissing"));
    Seen needsStore = new Seen();
    needsStore.boot = new Observation.Boot.NeedsStore("/nix/store/0123456789abcdfghijklmnpqrsvwxyz-guest");
    Seen preparingStore = new Seen();
    preparingStore.boot = needsStore.boot;
    preparingStore.inFlight = Optional.of(new Observation.Operation.PreparingStore("/nix/store/0123456789abcdfghijklmnpqrsvwxyz-guest"));
    VM named = vm(b -> b.closureName = "hello");
    Seen unresolved = new Seen();
    unresolved.boot = new Observation.Boot.Unresolved("hello");
    Seen nameUnknown = resolveFailed(BootResolver.NAME_NOT_FOUND, "no closure is named hello");
    Seen cacheUnreachable = resolveFailed(BootResolver.MISSING, "closure name hello cannot be resolved: the agent has no binary cache");
    Seen cacheDown = resolveFailed(BootResolver.CACHE_UNAVAILABLE, "closure name hello could not be resolved: connection refused");
    Seen nameResolvedHere = new Seen();
    nameResolvedHere.boot = new Observation.Boot.Present("/nix/store/0123456789abcdfghijklmnpqrsvwxyz-guest");
    Seen missing = new Seen();
    missing.boot = new Observation.Boot.Missing("kernel /images/hello/vmlinux does not exist");
    Decision<VMStatus, VmAction> d = decide(vm, missing);
    assertThat(d.actions()).isEmpty();
    assertThat(d.requeueAfter()).isEqualTo(VmLifecycle.PULL_RETRY);
  }

  @Test
  void aVmGoneOrBoundElsewhereHasItsMachineStoppedThenItsFilesRemoved() {
    VM vm = vm(b -> b.status(VMPhase.RUNNING, "True", "Ready"));
    assertThat(VmLifecycle.gone(new Seen().running(vm, Duration.ofMinutes(1)).build())).containsExactly(new VmAction.Stop("Released"));
    Seen stopping = new Seen().running(vm, Duration.ofMinutes(1));
    stopping.inFlight = Optional.of(new Observation.Operation.Stopping("Released"));
    assertThat(VmLifecycle.gone(stopping.build())).as("the stop under way is waited for").isEmpty();
    assertThat(VmLifecycle.gone(new Seen().launched(vm).build())).containsExactly(new VmAction.Release());
    Seen cleaned = new Seen();
    cleaned.workDir = false;
    assertThat(VmLifecycle.gone(cleaned.build())).isEmpty();
  }

  @Test
  void aRunningGuestsSecretsFollowTheirObjects() {
    List<VMSpec.SecretMount> db = List.of(new VMSpec.SecretMount("db-creds", "/run/secrets/db"));
    VM vm = vm(b -> { b.secrets = db; b.status(VMPhase.RUNNING, "True", "Ready"); });
    assertThat(decide(vm, new Seen().running(vm, Duration.ofMinutes(5))).actions()).containsExactly(new VmAction.SyncSecrets());
    assertThat(decide(vm, new Seen().launched(vm)).actions()).as("a guest that does not run has no folders to keep up")
        .doesNotContain(new VmAction.SyncSecrets());
    VM deleting = vm(b -> { b.secrets = db; b.deleting = true; b.status(VMPhase.RUNNING, "True", "Ready"); });
    assertThat(decide(deleting, new Seen().running(deleting, Duration.ofMinutes(5))).actions()).containsExactly(new VmAction.Stop("Deleting"));
  }

  @Test
  void theStorePathANameResolvedToIsRecordedForThatGenerationOnly() {
    String path = "/nix/store/0123456789abcdfghijklmnpqrsvwxyz-guest";
    Seen needsStore = new Seen();
    needsStore.boot = new Observation.Boot.NeedsStore("/nix/store/0123456789abcdfghijklmnpqrsvwxyz-guest");
    Seen preparingStore = new Seen();
    preparingStore.boot = needsStore.boot;
    preparingStore.inFlight = Optional.of(new Observation.Operation.PreparingStore("/nix/store/0123456789abcdfghijklmnpqrsvwxyz-guest"));
    VM named = vm(b -> b.closureName = "hello");
    Seen here = new Seen();
    here.boot = new Observation.Boot.Present(path);
    VMStatus started = decide(named, here).status();
    assertThat(started.closure()).as("status.closure once it starts").isEqualTo(path);
    named.setStatus(started);
    assertThat(VmLifecycle.recordedClosure(named)).isEqualTo(path);
    Seen pulling = new Seen();
    pulling.boot = new Observation.Boot.NeedsPull(path);
    assertThat(decide(vm(b -> b.closureName = "hello"), pulling).status().closure()).as("status.closure while it is pulled").isEqualTo(path);

    // a new generation (the spec changed): what the name stood for then no longer holds
    VM changed = vm(b -> { b.closureName = "hello"; b.generation = 2; });
    changed.setStatus(started);
    assertThat(VmLifecycle.recordedClosure(changed)).isNull();
    Seen unresolved = new Seen();
    unresolved.boot = new Observation.Boot.Unresolved("hello");
    assertThat(decide(changed, unresolved).status().closure()).as("cleared for the new generation").isNull();
  }

  @Test
  void aRunningVmKeepsRecordingWhatItBootedAndAClosureThatCannotBeHadIsAskedForAgain() {
    String path = "/nix/store/0123456789abcdfghijklmnpqrsvwxyz-guest";
    // a spec change that needs no new boot (generation 2, same boot): the status still says what runs
    VM changed = vm(b -> { b.closureName = "hello"; b.generation = 2; b.status(VMPhase.RUNNING, "True", "Ready"); });
    changed.setStatus(changed.getStatus().withClosure(path));
    Seen running = new Seen().running(changed, Duration.ofMinutes(5));
    running.launch = Launch.of(changed.getSpec().withBoot(changed.getSpec().boot().resolvedTo(path)), List.of());
    VMStatus after = decide(changed, running).status();
    assertThat((after != null ? after : changed.getStatus()).closure()).isEqualTo(path);

    // the path a name stood for cannot be pulled: the next try resolves the name again
    VM named = vm(b -> b.closureName = "hello");
    Seen pullFailed = new Seen();
    pullFailed.boot = new Observation.Boot.NeedsPull(path);
    pullFailed.failure = Optional.of(new Observation.Failure(Observation.Failure.Kind.PULL, "BootSourceMissing", "gone", NOW.minusSeconds(1)));
    assertThat(decide(named, pullFailed).status().closure()).isNull();
  }

  @Test
  void aLaunchOfTheResolvedClosureMatchesTheNamedSpec() {
    Seen needsStore = new Seen();
    needsStore.boot = new Observation.Boot.NeedsStore("/nix/store/0123456789abcdfghijklmnpqrsvwxyz-guest");
    Seen preparingStore = new Seen();
    preparingStore.boot = needsStore.boot;
    preparingStore.inFlight = Optional.of(new Observation.Operation.PreparingStore("/nix/store/0123456789abcdfghijklmnpqrsvwxyz-guest"));
    VM named = vm(b -> b.closureName = "hello");
    VMSpec launched = named.getSpec().withBoot(named.getSpec().boot().resolvedTo("/nix/store/0123456789abcdfghijklmnpqrsvwxyz-guest"));
    assertThat(Launch.of(launched, List.of()).matches(named.getSpec())).as("no reboot for the name it was resolved from").isTrue();
    VM renamed = vm(b -> b.closureName = "other");
    assertThat(Launch.of(launched, List.of()).matches(renamed.getSpec())).as("another name boots anew").isFalse();
  }

  @Test
  void nothingChangedMeansNoStatusWrite() {
    VM vm = vm(b -> b.status(VMPhase.RUNNING, "True", "Ready"));
    VM written = vm(b -> { });
    written.setStatus(decide(vm, new Seen().running(vm, Duration.ofMinutes(5))).status());
    assertThat(decide(written, new Seen().running(written, Duration.ofMinutes(5))).status()).isNull();
  }
}
