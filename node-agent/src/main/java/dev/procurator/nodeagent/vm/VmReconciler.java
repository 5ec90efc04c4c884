package dev.procurator.nodeagent.vm;

import dev.procurator.api.runtime.Conditions;
import dev.procurator.api.runtime.Reconciler;
import dev.procurator.api.runtime.Result;
import dev.procurator.api.v1alpha1.HealthCheckType;
import dev.procurator.api.v1alpha1.Hypervisor;
import dev.procurator.api.v1alpha1.NetworkMode;
import dev.procurator.api.v1alpha1.NodeAgreements;
import dev.procurator.api.v1alpha1.Quantities;
import dev.procurator.api.v1alpha1.RestartPolicy;
import dev.procurator.api.v1alpha1.VM;
import dev.procurator.api.v1alpha1.VMPhase;
import dev.procurator.api.v1alpha1.VMSpec;
import dev.procurator.api.v1alpha1.VMStatus;
import dev.procurator.nodeagent.hypervisor.LaunchPlan;
import dev.procurator.nodeagent.hypervisor.MachineSpec;
import dev.procurator.nodeagent.hypervisor.Runner;
import dev.procurator.nodeagent.hypervisor.RunningMachine;
import io.fabric8.kubernetes.api.model.Condition;
import io.fabric8.kubernetes.api.model.ConditionBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.micrometer.core.instrument.MeterRegistry;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.locks.LockSupport;
import java.util.function.Consumer;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Makes one VM bound to this node (key {@code namespace/name}) real: resolves its boot source,
 * starts it with the runner for its hypervisor, follows the boot to the guest's ready line, runs
 * its health checks, restarts it per {@code restartPolicy} with backoff, and stops it gracefully
 * behind the {@link #FINALIZER} when it is deleted or bound elsewhere. Everything it needs to
 * continue after a restart is in the API (status) and the VM's working directory (pidfile,
 * control socket, {@link Launch}); what it keeps in memory is a cache of that.
 *
 * <p>Thread-safe for the controller's contract: one key is never reconciled twice at once.
 */
public final class VmReconciler implements Reconciler<String> {
  private static final Logger log = LoggerFactory.getLogger(VmReconciler.class);
  public static final String FINALIZER = NodeAgreements.AGENT_FINALIZER;
  /** Booted reasons after which, once written as Failed or Stopped, nothing is restarted until the spec changes. */
  private static final Set<String> FINAL_REASONS = Set.of("Crashed", "BootTimeout", "Unhealthy", "Exited");
  private static final Duration POLL = Duration.ofMillis(25);

  /** Timeouts and limits; the VM's own {@code bootTimeoutSeconds} wins over {@link #bootTimeout}. */
  public record Settings(Duration bootTimeout, Duration stopGrace, Duration restartBackoff, Duration maxRestartBackoff,
      long consoleCapBytes, Duration resync) {
    public static Settings defaults() {
      return new Settings(Duration.ofMinutes(2), Duration.ofSeconds(20), Duration.ofSeconds(1), Duration.ofMinutes(5),
          1 << 20, Duration.ofSeconds(30));
    }
  }

  /** What this agent knows about one machine it runs; rebuilt from the API and the working directory after a restart. */
  static final class Instance {
    final RunningMachine machine;
    final Launch launch;
    final Instant started;
    volatile boolean ready;
    final Map<Integer, Integer> failures = new HashMap<>();
    final Map<Integer, Instant> nextProbe = new HashMap<>();
    final Map<Integer, HealthProbe.Outcome> last = new HashMap<>();

    Instance(RunningMachine machine, Launch launch, Instant started, boolean ready) {
      this.machine = machine;
      this.launch = launch;
      this.started = started;
      this.ready = ready;
    }
  }

  private final KubernetesClient client;
  private final String nodeName;
  private final Map<Hypervisor, Runner> runners;
  private final BootResolver boot;
  private final Path vmsDir;
  private final Optional<Cgroups> cgroups;
  private final Optional<TapNetwork> taps;
  private final Settings settings;
  private final Clock clock;
  private final MeterRegistry metrics;
  private final HealthProbe prober = new HealthProbe();
  private final ConcurrentHashMap<String, Instance> instances = new ConcurrentHashMap<>();
  private final ConcurrentHashMap<String, Instant> restartNotBefore = new ConcurrentHashMap<>();
  private final ConcurrentHashMap<String, Integer> crashLoop = new ConcurrentHashMap<>();
  private volatile Consumer<String> enqueue = k -> {};

  public VmReconciler(KubernetesClient client, String nodeName, Map<Hypervisor, Runner> runners, BootResolver boot,
      Path vmsDir, Optional<Cgroups> cgroups, Optional<TapNetwork> taps, Settings settings, Clock clock, MeterRegistry metrics) {
    this.client = client;
    this.nodeName = nodeName;
    this.runners = Map.copyOf(runners);
    this.boot = boot;
    this.vmsDir = vmsDir;
    this.cgroups = cgroups;
    this.taps = taps;
    this.settings = settings;
    this.clock = clock;
    this.metrics = metrics;
  }

  /** Where the reconciler asks to look at a key again (process exits, ready lines): the controller's enqueue. */
  public void onWake(Consumer<String> enqueue) {
    this.enqueue = enqueue;
  }

  /** The working directory of the VM with key {@code namespace/name}. */
  public Path workDir(String key) {
    int slash = key.indexOf('/');
    return vmsDir.resolve(key.substring(0, slash)).resolve(key.substring(slash + 1));
  }

  /** Keys of the VMs whose working directories exist on this host (running, or left behind). */
  public List<String> keysOnDisk() throws IOException {
    if (!Files.isDirectory(vmsDir)) {
      return List.of();
    }
    List<String> keys = new ArrayList<>();
    try (Stream<Path> namespaces = Files.list(vmsDir)) {
      for (Path ns : namespaces.filter(Files::isDirectory).toList()) {
        try (Stream<Path> names = Files.list(ns)) {
          names.filter(Files::isDirectory).forEach(n -> keys.add(ns.getFileName() + "/" + n.getFileName()));
        }
      }
    }
    return keys;
  }

  /** Process ids of the machines this agent currently runs, by VM key. */
  public Map<String, Long> running() {
    Map<String, Long> out = new HashMap<>();
    instances.forEach((k, i) -> {
      if (i.machine.alive()) {
        out.put(k, i.machine.pid());
      }
    });
    return out;
  }

  @Override
  public Result reconcile(String key) throws Exception {
    int slash = key.indexOf('/');
    String ns = key.substring(0, slash);
    Path dir = workDir(key);
    VM vm = client.resources(VM.class).inNamespace(ns).withName(key.substring(slash + 1)).get();
    if (vm == null || !nodeName.equals(vm.getSpec().nodeName())) {
      release(key, dir);
      return Result.done();
    }
    if (vm.getMetadata().getDeletionTimestamp() != null) {
      return finish(vm, key, dir);
    }
    if (!vm.getMetadata().getFinalizers().contains(FINALIZER)) {
      vm.getMetadata().getFinalizers().add(FINALIZER);
      vm = client.resources(VM.class).inNamespace(ns).resource(vm).update();
    }
    VMSpec spec = vm.getSpec();
    Runner runner = runners.get(Launch.hypervisorOf(spec));
    if (runner == null) {
      write(vm, VMPhase.FAILED, booted("False", "HypervisorUnavailable",
          "node " + nodeName + " has no " + Launch.hypervisorOf(spec).wire() + " hypervisor"), null, null, null);
      return Result.done();
    }
    Instance inst = instances.get(key);
    Launch launched = Launch.read(dir);
    Runner launchedRunner = launched == null ? runner : runners.getOrDefault(launched.hypervisor(), runner);
    Optional<RunningMachine> running = inst != null && inst.machine.alive() ? Optional.of(inst.machine)
        : launched == null ? Optional.empty() : launchedRunner.adopt(launchedRunner.files(dir));
    if (running.isPresent()) {
      if (launched != null && launched.matches(spec)) {
        return supervise(vm, key, dir, launchedRunner, running.get(), launched, inst);
      }
      log.info("{}: the spec changed, booting it anew", key);
      write(vm, VMPhase.STOPPING, booted("False", "SpecChanged", "stopping to boot the changed spec"), null, null, null);
      stop(key, launchedRunner, running.get());
      return start(vm, key, dir, runner, launched, false);
    }
    VMStatus st = vm.getStatus();
    boolean wasUp = st != null && (st.phase() == VMPhase.STARTING || st.phase() == VMPhase.RUNNING) && launched != null
        && Set.of("Booting", "Ready").contains(reason(st, "Booted"));
    if (inst != null || wasUp) {
      instances.remove(key);
      return exited(vm, key, dir, launchedRunner, inst);
    }
    if (isFinal(vm)) {
      return Result.done();
    }
    Instant notBefore = restartNotBefore.get(key);
    Instant now = clock.instant();
    if (notBefore != null && now.isBefore(notBefore)) {
      return Result.requeueAfter(Duration.between(now, notBefore));
    }
    boolean restart = restartNotBefore.remove(key) != null || st != null && "BackOff".equals(reason(st, "Booted"));
    return start(vm, key, dir, runner, launched, restart);
  }

  private boolean isFinal(VM vm) {
    VMStatus st = vm.getStatus();
    return st != null && (st.phase() == VMPhase.STOPPED || st.phase() == VMPhase.FAILED)
        && Objects.equals(st.observedGeneration(), vm.getMetadata().getGeneration())
        && FINAL_REASONS.contains(reason(st, "Booted"));
  }

  private Result start(VM vm, String key, Path dir, Runner runner, Launch previous, boolean restart) throws IOException {
    VMSpec spec = vm.getSpec();
    boolean tap = isTap(spec);
    if (tap && taps.isEmpty()) {
      write(vm, VMPhase.FAILED, booted("False", "Unsupported",
          "node " + nodeName + " has no bridge for tap networking (its agent runs without --tap-bridge); use network mode user"),
          null, null, null);
      return Result.done();
    }
    if (boot.needsPull(spec.boot())) {
      vm = write(vm, VMPhase.STARTING, booted("False", "Pulling", "pulling closure " + spec.boot().closure() + " from the binary cache"),
          null, null, null);
    }
    BootResolver.BootFiles files;
    try {
      files = boot.resolve(spec.boot());
    } catch (BootResolver.MissingException e) {
      if (vm.getStatus() == null || !"BootSourceMissing".equals(reason(vm.getStatus(), "Booted"))) {
        // counted once per episode, not on every look while it stays missing
        metrics.counter("procurator.vm.failures", "reason", "BootSourceMissing").increment();
      }
      write(vm, VMPhase.FAILED, booted("False", "BootSourceMissing", e.getMessage()), null, null, null);
      // the file may yet appear (an image being built, a closure being pushed): look again
      return Result.requeueAfter(Duration.ofSeconds(10));
    }
    List<VMSpec.PortForward> ports = tap ? List.of() : assignPorts(spec, previous);
    LaunchPlan plan;
    try {
      MachineSpec.Tap device = null;
      if (tap) {
        device = new MachineSpec.Tap(TapNetwork.deviceFor(key), TapNetwork.macFor(key));
        taps.get().ensure(device.device());
      }
      plan = runner.plan(new MachineSpec(vm.getMetadata().getNamespace() + "." + vm.getMetadata().getName(), spec.cpu(),
          Quantities.bytes(spec.memory()) >> 20, files.kernel(), files.initrd(), files.cmdline(),
          ports.stream().map(p -> new MachineSpec.PortForward(p.host(), p.guest())).toList(), dir, device,
          tap ? taps.get().netns() : null));
    } catch (IllegalArgumentException e) {
      write(vm, VMPhase.FAILED, booted("False", "InvalidSpec", e.getMessage()), null, null, null);
      return Result.done();
    }
    Launch launch = Launch.of(spec, ports);
    launch.write(dir);
    int restarts = restartCount(vm) + (restart ? 1 : 0);
    vm = write(vm, VMPhase.STARTING, booted("False", "Booting", "starting " + runner.name() + " (" + plan.accelerator() + ")"
        + (restart ? ", restart " + restarts : "")), null, restarts, ports);
    RunningMachine m;
    try {
      m = runner.start(plan);
    } catch (IOException e) {
      metrics.counter("procurator.vm.failures", "reason", "StartFailed").increment();
      write(vm, VMPhase.FAILED, booted("False", "StartFailed", e.getMessage()), null, null, null);
      throw e;
    }
    cgroups.ifPresent(c -> c.place(key, m.pid(), spec.cpu(), Quantities.bytes(spec.memory())));
    metrics.counter("procurator.vm.boots").increment();
    Instance inst = new Instance(m, launch, clock.instant(), false);
    instances.put(key, inst);
    follow(key, inst, dir, runner, bootTimeout(spec));
    log.info("{}: started {} as pid {}", key, runner.name(), m.pid());
    return Result.done();
  }

  /** Wakes the key when the machine exits, and when the boot reaches its ready line or its deadline. */
  private void follow(String key, Instance inst, Path dir, Runner runner, Duration timeout) {
    ProcessHandle.of(inst.machine.pid()).ifPresent(p -> p.onExit().thenRun(() -> enqueue.accept(key)));
    if (inst.ready) {
      return;
    }
    ConsoleLog console = console(runner, dir);
    Instant deadline = inst.started.plus(timeout);
    Thread.ofVirtual().name("boot-" + key).start(() -> {
      while (inst.machine.alive() && instances.get(key) == inst && clock.instant().isBefore(deadline)) {
        if (console.contains(ConsoleLog.READY_LINE)) {
          break;
        }
        LockSupport.parkNanos(POLL.toNanos());
      }
      enqueue.accept(key);
    });
  }

  private Result supervise(VM vm, String key, Path dir, Runner runner, RunningMachine machine, Launch launched, Instance known) {
    Instance inst = known;
    if (inst == null || inst.machine.pid() != machine.pid()) {
      VMStatus st = vm.getStatus();
      boolean ready = st != null && st.phase() == VMPhase.RUNNING;
      Instant started = ProcessHandle.of(machine.pid()).flatMap(p -> p.info().startInstant()).orElse(clock.instant());
      inst = new Instance(machine, launched, started, ready);
      instances.put(key, inst);
      log.info("{}: adopted running {} pid {}", key, runner.name(), machine.pid());
      follow(key, inst, dir, runner, bootTimeout(vm.getSpec()));
    }
    ConsoleLog console = console(runner, dir);
    Instant now = clock.instant();
    // checks reach the guest through ports forwarded to 127.0.0.1, which tap networking has none of;
    // exec checks need an agent inside the guest, which there is not yet
    List<VMSpec.HealthCheck> checks = vm.getSpec().healthChecks() == null || isTap(vm.getSpec()) ? List.of()
        : vm.getSpec().healthChecks().stream().filter(c -> c.type() != HealthCheckType.EXEC).toList();
    if (!inst.ready) {
      if (console.contains(ConsoleLog.READY_LINE)) {
        inst.ready = true;
        long ms = Duration.between(inst.started, now).toMillis();
        write(vm, VMPhase.RUNNING, booted("True", "Ready", String.format("the guest printed its ready line %.1f s after start", ms / 1000.0)),
            checks.isEmpty() ? null : condition("Healthy", "Unknown", "NotYetChecked", "no health check has run yet"), null, null);
        return Result.requeueAfter(Duration.ZERO.plusMillis(1));
      }
      Duration timeout = bootTimeout(vm.getSpec());
      if (now.isAfter(inst.started.plus(timeout))) {
        String last = String.join(" | ", console.lastLines(5));
        // a broken accelerator shows as internal-error, not as console output: say so
        String state = runner.state(machine).filter(st -> !st.equals("running")).map(st -> " (" + runner.name() + " reports " + st + ")")
            .orElse("");
        stop(key, runner, machine);
        return afterStop(vm, key, inst, false, "BootTimeout", "the guest did not print " + ConsoleLog.READY_LINE + " within "
            + timeout.toSeconds() + " s" + state + "; last console lines: " + (last.isBlank() ? "(none)" : last));
      }
      if (vm.getStatus() == null || vm.getStatus().phase() != VMPhase.STARTING) {
        write(vm, VMPhase.STARTING, booted("False", "Booting", "waiting for the guest's ready line"), null, null, launched.ports());
      }
      return Result.requeueAfter(Duration.between(now, inst.started.plus(timeout)));
    }
    try {
      console.capAt(settings.consoleCapBytes());
    } catch (IOException e) {
      log.warn("{}: could not cap the console log: {}", key, e.getMessage());
    }
    Instant next = now.plus(settings.resync());
    // a guest can die without its hypervisor exiting (KVM internal-error, a panic QEMU holds on to)
    Optional<String> state = runner.state(machine);
    if (state.isPresent() && Set.of("internal-error", "guest-panicked", "shutdown").contains(state.get())) {
      String last = String.join(" | ", console.lastLines(3));
      stop(key, runner, machine);
      return afterStop(vm, key, inst, false, "Crashed", runner.name() + " reports the guest as " + state.get()
          + "; last console lines: " + (last.isBlank() ? "(none)" : last));
    }
    Condition healthy = null;
    if (!checks.isEmpty()) {
      List<String> failing = new ArrayList<>();
      boolean allKnown = true;
      for (int i = 0; i < checks.size(); i++) {
        VMSpec.HealthCheck c = checks.get(i);
        Instant due = inst.nextProbe.getOrDefault(i, now);
        if (!now.isBefore(due)) {
          int hostPort = c.port() == null ? -1 : launched.hostPort(c.port());
          HealthProbe.Outcome o = hostPort < 0 ? new HealthProbe.Outcome(false, "port " + c.port() + " is not forwarded")
              : prober.probe(c, hostPort);
          inst.last.put(i, o);
          if (o.passed()) {
            inst.failures.put(i, 0);
          } else {
            inst.failures.merge(i, 1, Integer::sum);
          }
          inst.nextProbe.put(i, clock.instant().plus(HealthProbe.period(c)));
        }
        Instant n = inst.nextProbe.get(i);
        next = n.isBefore(next) ? n : next;
        HealthProbe.Outcome o = inst.last.get(i);
        if (o == null) {
          allKnown = false;
        } else if (!o.passed()) {
          failing.add(o.detail() + " (" + inst.failures.get(i) + " of " + HealthProbe.failureThreshold(c) + ")");
          if (inst.failures.get(i) >= HealthProbe.failureThreshold(c)) {
            stop(key, runner, machine);
            write(vm, vm.getStatus().phase(), condition("Healthy", "False", "Unhealthy", o.detail()), null, null, null);
            return afterStop(vm, key, inst, false, "Unhealthy",
                "health check failed " + inst.failures.get(i) + " times in a row: " + o.detail());
          }
        }
      }
      healthy = !failing.isEmpty() ? condition("Healthy", "False", "CheckFailing", String.join("; ", failing))
          : allKnown ? condition("Healthy", "True", "ChecksPassing", "all " + checks.size() + " health checks pass")
          : condition("Healthy", "Unknown", "NotYetChecked", "no health check has run yet");
    }
    write(vm, VMPhase.RUNNING, booted("True", "Ready", readyMessage(vm)), healthy, null, launched.ports());
    return Result.requeueAfter(Duration.between(clock.instant(), next).isNegative() ? Duration.ZERO : Duration.between(clock.instant(), next));
  }

  private static String readyMessage(VM vm) {
    VMStatus st = vm.getStatus();
    if (st != null && st.conditions() != null) {
      for (Condition c : st.conditions()) {
        if (c.getType().equals("Booted") && c.getStatus().equals("True")) {
          return c.getMessage();
        }
      }
    }
    return "the guest printed its ready line";
  }

  private Result exited(VM vm, String key, Path dir, Runner runner, Instance inst) {
    ConsoleLog console = console(runner, dir);
    boolean clean = console.contains(ConsoleLog.POWER_DOWN_LINE);
    String last = String.join(" | ", console.lastLines(3));
    log.info("{}: the machine exited ({})", key, clean ? "guest powered off" : "no power-off");
    return afterStop(vm, key, inst, clean, clean ? "Exited" : "Crashed", clean ? "the guest powered off"
        : "the hypervisor exited without the guest powering off; last console lines: " + (last.isBlank() ? "(none)" : last));
  }

  /** After the machine ended on its own (or was ended for failing): restart per policy, with backoff, or stay down. */
  private Result afterStop(VM vm, String key, Instance inst, boolean clean, String reason, String message) {
    instances.remove(key);
    cgroups.ifPresent(c -> c.remove(key));
    if (!clean) {
      metrics.counter("procurator.vm.failures", "reason", reason).increment();
    }
    RestartPolicy policy = vm.getSpec().restartPolicy() == null ? RestartPolicy.ALWAYS : vm.getSpec().restartPolicy();
    boolean restart = policy == RestartPolicy.ALWAYS || policy == RestartPolicy.ON_FAILURE && !clean;
    VMPhase phase = clean ? VMPhase.STOPPED : VMPhase.FAILED;
    if (!restart) {
      write(vm, phase, booted("False", reason, message), notRunning(vm, reason), null, null);
      return Result.done();
    }
    boolean stable = inst != null && inst.ready && clock.instant().isAfter(inst.started.plusSeconds(60));
    int n = stable ? 0 : crashLoop.merge(key, 1, Integer::sum) - 1;
    if (stable) {
      crashLoop.remove(key);
    }
    long nanos = settings.restartBackoff().toNanos() << Math.min(n, 30);
    Duration delay = nanos <= 0 || nanos > settings.maxRestartBackoff().toNanos() ? settings.maxRestartBackoff() : Duration.ofNanos(nanos);
    restartNotBefore.put(key, clock.instant().plus(delay));
    write(vm, phase, booted("False", "BackOff", message + "; restarting in " + delay.toMillis() / 1000.0 + " s"),
        notRunning(vm, reason), null, null);
    return Result.requeueAfter(delay);
  }

  /** The VM is being deleted: stop it, clean up, and let it go. */
  private Result finish(VM vm, String key, Path dir) throws IOException {
    if (vm.getMetadata().getFinalizers().contains(FINALIZER)) {
      if (instances.containsKey(key) || Launch.read(dir) != null) {
        vm = write(vm, VMPhase.STOPPING, booted("False", "Deleting", "stopping: the VM is being deleted"), null, null, null);
      }
      release(key, dir);
      for (int attempt = 0; ; attempt++) {
        vm.getMetadata().getFinalizers().remove(FINALIZER);
        try {
          client.resources(VM.class).inNamespace(vm.getMetadata().getNamespace()).resource(vm).update();
          break;
        } catch (KubernetesClientException e) {
          if (e.getCode() == 404) {
            break;
          }
          if (e.getCode() != 409 || attempt >= 5) {
            throw e;
          }
          vm = client.resources(VM.class).inNamespace(vm.getMetadata().getNamespace()).withName(vm.getMetadata().getName()).get();
          if (vm == null || !vm.getMetadata().getFinalizers().contains(FINALIZER)) {
            break;
          }
        }
      }
      log.info("{}: stopped and released for deletion", key);
    }
    return Result.done();
  }

  /** Stops whatever runs in {@code dir} and removes the directory: the VM is gone, or bound elsewhere. */
  private void release(String key, Path dir) throws IOException {
    Instance inst = instances.remove(key);
    restartNotBefore.remove(key);
    crashLoop.remove(key);
    Launch launched = Launch.read(dir);
    Runner runner = launched == null ? runners.getOrDefault(Hypervisor.QEMU, runners.values().iterator().next())
        : runners.getOrDefault(launched.hypervisor(), runners.values().iterator().next());
    Optional<RunningMachine> m = inst != null ? Optional.of(inst.machine) : runner.adopt(runner.files(dir));
    if (m.isPresent()) {
      stop(key, runner, m.get());
      log.info("{}: stopped, it is no longer bound to this node", key);
    }
    cgroups.ifPresent(c -> c.remove(key));
    if (launched != null && launched.network() != null && launched.network().mode() == NetworkMode.TAP) {
      taps.ifPresent(t -> t.remove(TapNetwork.deviceFor(key)));
    }
    if (Files.exists(dir)) {
      try (Stream<Path> walk = Files.walk(dir)) {
        for (Path p : walk.sorted(Comparator.reverseOrder()).toList()) {
          Files.deleteIfExists(p);
        }
      }
    }
  }

  private void stop(String key, Runner runner, RunningMachine m) {
    instances.remove(key);
    try {
      runner.stop(m, settings.stopGrace());
    } catch (IOException e) {
      log.warn("{}: stopping pid {} failed: {}", key, m.pid(), e.getMessage());
    }
  }

  /** A VM that does not run is not known to be healthy; an Unhealthy verdict stays as it was. */
  private Condition notRunning(VM vm, String reason) {
    if (vm.getSpec().healthChecks() == null || vm.getSpec().healthChecks().isEmpty() || reason.equals("Unhealthy")) {
      return null;
    }
    return condition("Healthy", "Unknown", "NotRunning", "the VM is not running");
  }

  private static boolean isTap(VMSpec spec) {
    return spec.network() != null && spec.network().mode() == NetworkMode.TAP;
  }

  private Duration bootTimeout(VMSpec spec) {
    return spec.bootTimeoutSeconds() == null ? settings.bootTimeout() : Duration.ofSeconds(spec.bootTimeoutSeconds());
  }

  private static ConsoleLog console(Runner runner, Path dir) {
    LaunchPlan files = runner.files(dir);
    return new ConsoleLog(files.serialLog(), files.previousSerialLog());
  }

  /** Host ports for the spec's forwards and the health checks' ports: as given, as launched before, or free ones. */
  private static List<VMSpec.PortForward> assignPorts(VMSpec spec, Launch previous) throws IOException {
    List<VMSpec.PortForward> out = new ArrayList<>();
    Set<Integer> guests = new HashSet<>();
    List<VMSpec.PortForward> wanted = new ArrayList<>();
    if (spec.network() != null && spec.network().ports() != null) {
      wanted.addAll(spec.network().ports());
    }
    for (int p : Launch.checkPorts(spec)) {
      wanted.add(new VMSpec.PortForward(p, null));
    }
    for (VMSpec.PortForward p : wanted) {
      if (!guests.add(p.guest())) {
        continue;
      }
      int host = p.host() != null ? p.host() : previous != null && previous.hostPort(p.guest()) > 0 ? previous.hostPort(p.guest()) : freePort();
      out.add(new VMSpec.PortForward(p.guest(), host));
    }
    return out;
  }

  private static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      return s.getLocalPort();
    }
  }

  private static int restartCount(VM vm) {
    return vm.getStatus() == null || vm.getStatus().restartCount() == null ? 0 : vm.getStatus().restartCount();
  }

  private static String reason(VMStatus st, String type) {
    if (st.conditions() != null) {
      for (Condition c : st.conditions()) {
        if (c.getType().equals(type)) {
          return c.getReason() == null ? "" : c.getReason();
        }
      }
    }
    return "";
  }

  private Condition booted(String status, String reason, String message) {
    return condition("Booted", status, reason, message);
  }

  private Condition condition(String type, String status, String reason, String message) {
    return new ConditionBuilder().withType(type).withStatus(status).withReason(reason).withMessage(message)
        .withLastTransitionTime(clock.instant().truncatedTo(ChronoUnit.SECONDS).toString()).build();
  }

  /**
   * Writes the VM's status: phase, the given conditions merged into the existing ones (a condition
   * whose status is unchanged keeps its transition time), message (the first condition's unless
   * given); retried against the latest object on conflict; skipped when nothing would change.
   */
  private VM write(VM vm, VMPhase phase, Condition main, Condition other, Integer restartCount, List<VMSpec.PortForward> ports) {
    String ns = vm.getMetadata().getNamespace();
    VM cur = vm;
    for (int attempt = 0; ; attempt++) {
      VMStatus old = cur.getStatus();
      List<Condition> conditions = old == null ? null : old.conditions();
      for (Condition c : Stream.of(main, other).filter(Objects::nonNull).toList()) {
        conditions = Conditions.set(conditions, c);
      }
      VMStatus next = new VMStatus(phase, nodeName, cur.getMetadata().getGeneration(), conditions, main.getMessage(),
          restartCount != null ? restartCount : old == null || old.restartCount() == null ? 0 : old.restartCount(),
          ports != null ? ports : old == null ? null : old.ports());
      if (next.equals(old)) {
        return cur;
      }
      cur.setStatus(next);
      try {
        return client.resources(VM.class).inNamespace(ns).resource(cur).updateStatus();
      } catch (KubernetesClientException e) {
        if (e.getCode() != 409 || attempt >= 5) {
          throw e;
        }
        cur = client.resources(VM.class).inNamespace(ns).withName(vm.getMetadata().getName()).get();
        if (cur == null) {
          return vm;
        }
      }
    }
  }
}
