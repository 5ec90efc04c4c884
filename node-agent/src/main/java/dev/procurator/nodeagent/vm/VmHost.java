package dev.procurator.nodeagent.vm;

import dev.procurator.api.runtime.EventRecorder;
import dev.procurator.api.runtime.ObjectKey;
import dev.procurator.api.v1alpha1.Hypervisor;
import dev.procurator.api.v1alpha1.NetworkMode;
import dev.procurator.api.v1alpha1.Quantities;
import dev.procurator.api.v1alpha1.VM;
import dev.procurator.api.v1alpha1.VMSpec;
import dev.procurator.nodeagent.hypervisor.LaunchPlan;
import dev.procurator.nodeagent.hypervisor.MachineSpec;
import dev.procurator.nodeagent.hypervisor.Runner;
import dev.procurator.nodeagent.hypervisor.RunningMachine;
import io.micrometer.core.instrument.MeterRegistry;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.function.Consumer;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * This host's side of the VMs it runs: it {@link #observe}s a VM's machine without waiting for
 * anything, and carries out what {@link VmLifecycle} decided. Pulls, starts and stops run on
 * virtual threads of their own and wake the VM's loop when they end; QEMU's exit, the guest's
 * ready line and health-check results wake it too. Nothing here must survive the agent: what it
 * keeps (the machines it follows, the operations under way) is found again from each VM's working
 * directory (pidfile, control sockets, {@link Launch}) and status after a restart.
 *
 * <p>Thread-safe; the controller never runs one VM's loop twice at once.
 */
public final class VmHost implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(VmHost.class);

  /** A machine this host follows: its process and the handle that watches it. */
  private record Followed(RunningMachine machine, Runner runner, AutoCloseable watch) {}

  private final Map<Hypervisor, Runner> runners;
  private final BootResolver boot;
  private final Path vmsDir;
  private final Optional<Cgroups> cgroups;
  private final Optional<TapNetwork> taps;
  private final VmLoop.Settings settings;
  private final Clock clock;
  private final MeterRegistry metrics;
  private final EventRecorder events;
  private final Consumer<ObjectKey> wake;
  private final ConsoleWatcher consoles;
  private final HealthMonitor health;
  /** When each VM's current boot began, until its guest prints the ready line. */
  private final Map<ObjectKey, Long> bootStarted = new java.util.concurrent.ConcurrentHashMap<>();
  private final ExecutorService slow = Executors.newThreadPerTaskExecutor(Thread.ofVirtual().name("vm-op-", 0).factory());
  private final Map<ObjectKey, Followed> machines = new ConcurrentHashMap<>();
  private final Map<ObjectKey, Observation.Operation> inFlight = new ConcurrentHashMap<>();
  private final Map<ObjectKey, Observation.Failure> failures = new ConcurrentHashMap<>();
  /** What each VM's closure name was resolved to, for the generation that asked. */
  private final Map<ObjectKey, Resolution> resolutions = new ConcurrentHashMap<>();

  /** A closure name resolved for one generation of one VM. */
  private record Resolution(String uid, Long generation, String name, String storePath) {}

  public VmHost(Map<Hypervisor, Runner> runners, BootResolver boot, Path vmsDir, Optional<Cgroups> cgroups, Optional<TapNetwork> taps,
      VmLoop.Settings settings, Clock clock, MeterRegistry metrics, EventRecorder events, Consumer<ObjectKey> wake)
      throws IOException {
    this.runners = Map.copyOf(runners);
    this.boot = boot;
    this.vmsDir = vmsDir;
    this.cgroups = cgroups;
    this.taps = taps;
    this.settings = settings;
    this.clock = clock;
    this.metrics = metrics;
    this.events = events;
    this.wake = wake;
    this.consoles = new ConsoleWatcher(settings.consoleCapBytes(), wake);
    this.health = new HealthMonitor(new HealthProbe(), wake);
  }

  private volatile StoreImages storeImages;

  /** VMs that boot a closure see its store, read-only: an image from {@code images}, or a view over 9p. */
  public VmHost withStoreImages(StoreImages images) {
    this.storeImages = images;
    return this;
  }

  /** Removes the store images that no VM here needs (see {@link StoreImages#sweep}); returns them. */
  public List<Path> sweepStoreImages() {
    StoreImages images = storeImages;
    if (images == null) {
      return List.of();
    }
    Set<String> inUse = new HashSet<>();
    try {
      for (ObjectKey key : keysOnDisk()) {
        Launch l = Launch.read(workDir(key));
        if (l != null && l.boot() != null && l.boot().closure() != null) {
          inUse.add(l.boot().closure());
        }
      }
    } catch (IOException e) {
      log.warn("listing this node's VMs for the store images failed: {}", e.toString());
      return List.of();
    }
    return images.sweep(inUse);
  }

  /** Reads a Secret's values (namespace/name), or empty when there is no such Secret. */
  public interface SecretReader {
    Optional<Map<String, byte[]>> read(ObjectKey secret);
  }

  private volatile SecretFiles secretFiles;
  private volatile SecretReader secretReader;

  /** VMs' Secrets reach their guests through files under {@code files}, read with {@code reader}. */
  public VmHost withSecrets(SecretFiles files, SecretReader reader) {
    this.secretFiles = files;
    this.secretReader = reader;
    return this;
  }

  /** The Secrets {@code vm} mounts that do not exist, by name. */
  private List<String> missingSecrets(VM vm) {
    if (vm == null || vm.getSpec().secrets() == null || vm.getSpec().secrets().isEmpty()) {
      return List.of();
    }
    if (secretReader == null) {
      return vm.getSpec().secrets().stream().map(VMSpec.SecretMount::name).toList();
    }
    return vm.getSpec().secrets().stream().map(VMSpec.SecretMount::name).distinct()
        .filter(n -> secretReader.read(ObjectKey.of(vm.getMetadata().getNamespace(), n)).isEmpty()).toList();
  }

  /**
   * Writes {@code vm}'s Secrets into its folders (only what changed) and returns them as shares for
   * the hypervisor. A running guest sees a changed value at once: its folder is shared live.
   */
  public List<MachineSpec.Share> syncSecrets(ObjectKey key, VM vm) throws IOException {
    List<VMSpec.SecretMount> mounts = vm.getSpec().secrets() == null ? List.of() : vm.getSpec().secrets();
    if (mounts.isEmpty() || secretFiles == null || secretReader == null) {
      return List.of();
    }
    List<MachineSpec.Share> shares = new ArrayList<>();
    for (int i = 0; i < mounts.size(); i++) {
      VMSpec.SecretMount m = mounts.get(i);
      Optional<Map<String, byte[]>> data = secretReader.read(ObjectKey.of(key.namespace(), m.name()));
      if (data.isEmpty()) {
        continue; // the decision keeps such a VM Pending; a running one keeps its last values
      }
      if (secretFiles.write(key, i, data.get())) {
        log.info("{}: wrote Secret {} for the guest ({} keys)", key, m.name(), data.get().size());
      }
      shares.add(new MachineSpec.Share("sec" + i, secretFiles.dir(key, i), m.mountPath()));
    }
    return shares;
  }

  /** The working directory of VM {@code key}. */
  public Path workDir(ObjectKey key) {
    return vmsDir.resolve(key.namespace()).resolve(key.name());
  }

  /** Keys of the VMs whose working directories exist on this host (running, or left behind). */
  public List<ObjectKey> keysOnDisk() throws IOException {
    if (!Files.isDirectory(vmsDir)) {
      return List.of();
    }
    List<ObjectKey> keys = new ArrayList<>();
    try (Stream<Path> namespaces = Files.list(vmsDir)) {
      for (Path ns : namespaces.filter(Files::isDirectory).toList()) {
        try (Stream<Path> names = Files.list(ns)) {
          names.filter(Files::isDirectory).forEach(n -> keys.add(ObjectKey.of(ns.getFileName().toString(), n.getFileName().toString())));
        }
      }
    }
    return keys;
  }

  /**
   * Finds the machines that run in the VMs' working directories (left by a previous agent) and
   * follows them from now on, before anything is asked of the API: a restarted agent holds its
   * running VMs again within its own start-up, and their loops then decide to keep them (still
   * bound here) or stop them (gone, or bound elsewhere). Returns their keys.
   */
  public List<ObjectKey> adoptRunning() throws IOException {
    List<ObjectKey> keys = keysOnDisk();
    for (ObjectKey key : keys) {
      Path dir = workDir(key);
      Launch launch = Launch.read(dir);
      Runner runner = runners.get(launch == null ? Hypervisor.QEMU : launch.hypervisor());
      if (runner != null) {
        machine(key, dir, runner);
      }
    }
    return keys;
  }

  /** Process ids of the machines this host follows, by VM. */
  public Map<ObjectKey, Long> running() {
    Map<ObjectKey, Long> out = new HashMap<>();
    machines.forEach((k, f) -> {
      if (f.machine().alive()) {
        out.put(k, f.machine().pid());
      }
    });
    return out;
  }

  // ---- observing ----

  /** What this host sees of {@code key}'s machine; {@code vm} is null when the VM is gone or not bound here. */
  public Observation observe(ObjectKey key, VM vm) {
    Path dir = workDir(key);
    Launch launch = Launch.read(dir);
    Hypervisor wanted = vm != null ? Launch.hypervisorOf(vm.getSpec()) : launch != null ? launch.hypervisor() : Hypervisor.QEMU;
    Runner runner = runners.get(wanted);
    Runner launchedRunner = launch == null ? runner : runners.getOrDefault(launch.hypervisor(), runner);
    Optional<RunningMachine> machine = launchedRunner == null ? Optional.empty() : machine(key, dir, launchedRunner);
    Optional<Observation.Machine> seen = machine.map(m -> new Observation.Machine(m.pid(),
        ProcessHandle.of(m.pid()).flatMap(p -> p.info().startInstant()).orElse(clock.instant()), launchedRunner.state(m)));
    boolean ready = machine.isPresent() && consoles.ready(key);
    if (ready) {
      Long since = bootStarted.remove(key);
      if (since != null) {
        bootDuration(key).record(System.nanoTime() - since, java.util.concurrent.TimeUnit.NANOSECONDS);
      }
    }
    List<Observation.Probe> probes = machine.map(m -> health.results(key, m.pid())).orElse(List.of());
    Observation.Boot bootState = vm == null ? new Observation.Boot.Present() : boot.check(effectiveBoot(key, vm));
    if (bootState instanceof Observation.Boot.Present p && p.closure() != null && storeImages != null
        && storeImages.prepared(p.closure()).isEmpty()) {
      bootState = new Observation.Boot.NeedsStore(p.closure());
    }
    LaunchPlan files = (launchedRunner != null ? launchedRunner : runners.values().iterator().next()).files(dir);
    ConsoleLog console = new ConsoleLog(files.serialLog(), files.previousSerialLog());
    return new Observation(Optional.ofNullable(runner).map(Runner::name), runner == null ? null : accelerator(runner), taps.isPresent(),
        Files.isDirectory(dir), seen, launch, ready, bootState, Optional.ofNullable(inFlight.get(key)),
        Optional.ofNullable(failures.get(key)), probes, new Observation.Console(console.lastLines(5), console.poweredOff()),
        missingSecrets(vm));
  }

  /**
   * The VM's boot source with its closure name resolved, when it has been for the VM's current
   * generation: by this agent (not yet in status), or as its status records it. Otherwise the spec's.
   */
  VMSpec.Boot effectiveBoot(ObjectKey key, VM vm) {
    VMSpec.Boot b = vm.getSpec().boot();
    if (b == null || !b.unresolved()) {
      return b;
    }
    Resolution r = resolutions.get(key);
    Long generation = vm.getMetadata().getGeneration();
    if (r != null && r.uid().equals(vm.getMetadata().getUid()) && java.util.Objects.equals(r.generation(), generation)
        && r.name().equals(b.closureName())) {
      return b.resolvedTo(r.storePath());
    }
    String recorded = VmLifecycle.recordedClosure(vm);
    return recorded != null ? b.resolvedTo(recorded) : b;
  }

  private static String accelerator(Runner runner) {
    return runner instanceof dev.procurator.nodeagent.hypervisor.qemu.QemuMicrovmRunner q ? q.accelerator() : null;
  }

  /** The machine running in {@code dir}: the one followed, or one found there (adopted and followed from now on). */
  private Optional<RunningMachine> machine(ObjectKey key, Path dir, Runner runner) {
    Followed f = machines.get(key);
    if (f != null && f.machine().alive()) {
      return Optional.of(f.machine());
    }
    if (f != null) {
      unfollow(key);
    }
    if (inFlight.get(key) instanceof Observation.Operation.Starting) {
      // a start under way writes its pidfile before QEMU is done starting; that start follows the machine, not this look
      return Optional.empty();
    }
    Optional<RunningMachine> found = runner.adopt(runner.files(dir));
    found.ifPresent(m -> {
      follow(key, dir, runner, m);
      log.info("{}: adopted running {} pid {}", key, runner.name(), m.pid());
    });
    return found;
  }

  private void follow(ObjectKey key, Path dir, Runner runner, RunningMachine m) {
    AutoCloseable watch = runner.watch(m, () -> wake.accept(key));
    Followed old = machines.put(key, new Followed(m, runner, watch));
    if (old != null) {
      close(old.watch());
    }
    consoles.follow(key, runner.files(dir).serialLog());
  }

  private void unfollow(ObjectKey key) {
    Followed f = machines.remove(key);
    if (f != null) {
      close(f.watch());
    }
  }

  private static void close(AutoCloseable c) {
    try {
      c.close();
    } catch (Exception ignored) {
      // a watch that cannot be closed ends with its machine
    }
  }

  // ---- acting ----

  /** Carries out {@code action} for {@code vm} ({@code key}); slow ones are started and return at once. */
  public void execute(ObjectKey key, VM vm, VmAction action) {
    switch (action) {
      case VmAction.Resolve r -> slowly(key, new Observation.Operation.Resolving(r.name()), () -> resolve(key, vm, r.name()));
      case VmAction.Pull p -> slowly(key, new Observation.Operation.Pulling(p.closure()), () -> pull(key, p.closure()));
      case VmAction.PrepareStore p -> slowly(key, new Observation.Operation.PreparingStore(p.closure()),
          () -> storeImages.prepare(p.closure()));
      case VmAction.Start s -> slowly(key, new Observation.Operation.Starting(), () -> start(key, vm, s.restart()));
      case VmAction.Stop s -> {
        health.forget(key);
        slowly(key, new Observation.Operation.Stopping(s.reason()), () -> stop(key, s.reason()));
      }
      case VmAction.Release r -> release(key);
      case VmAction.WatchHealth w -> {
        Followed f = machines.get(key);
        if (f != null) {
          Path dir = workDir(key);
          health.watch(key, f.machine().pid(), w.checks(), new HealthMonitor.Reach(Launch.read(dir),
              f.runner().guestAgentSocket(dir).orElse(null), taps.map(TapNetwork::netns).orElse(null)));
        }
      }
      case VmAction.CountFailure c -> metrics.counter("procurator.vm.failures", "reason", c.reason()).increment();
      case VmAction.SyncSecrets s -> {
        try {
          syncSecrets(key, vm);
        } catch (IOException e) {
          log.warn("{}: writing its Secrets failed: {}", key, e.toString());
        }
      }
    }
  }

  /** Runs {@code work} off the worker threads as {@code op}; the VM is looked at again when it ends. */
  private void slowly(ObjectKey key, Observation.Operation op, Runnable work) {
    if (inFlight.putIfAbsent(key, op) != null) {
      return; // one at a time: the decision sees the one under way
    }
    slow.execute(() -> {
      try {
        work.run();
      } catch (RuntimeException e) {
        log.warn("{}: {} failed: {}", key, op, e.toString());
      } finally {
        inFlight.remove(key);
        wake.accept(key);
      }
    });
  }

  private void resolve(ObjectKey key, VM vm, String name) {
    failures.remove(key);
    try {
      String path = boot.resolveName(name);
      resolutions.put(key, new Resolution(vm.getMetadata().getUid(), vm.getMetadata().getGeneration(), name, path));
      log.info("{}: closure name {} is {}", key, name, path);
    } catch (BootResolver.MissingException e) {
      failures.put(key, new Observation.Failure(Observation.Failure.Kind.RESOLVE, e.reason(), e.getMessage(), clock.instant()));
    }
  }

  private void pull(ObjectKey key, String closure) {
    failures.remove(key);
    try {
      boot.pull(closure);
      log.info("{}: pulled closure {}", key, closure);
    } catch (BootResolver.MissingException e) {
      resolutions.remove(key); // a name's closure that cannot be had is asked for again, in case the name moved
      failures.put(key, new Observation.Failure(Observation.Failure.Kind.PULL, "BootSourceMissing", e.getMessage(), clock.instant()));
    }
  }

  private void start(ObjectKey key, VM vm, boolean restart) {
    failures.remove(key);
    Path dir = workDir(key);
    VMSpec spec = vm.getSpec();
    Runner runner = runners.get(Launch.hypervisorOf(spec));
    try {
      VMSpec.Boot source = effectiveBoot(key, vm);
      BootResolver.BootFiles files = boot.resolve(source);
      boolean tap = VmLifecycle.isTap(spec);
      Launch previous = Launch.read(dir);
      List<VMSpec.PortForward> ports = tap ? List.of() : assignPorts(spec, previous);
      MachineSpec.Tap device = null;
      if (tap) {
        device = new MachineSpec.Tap(TapNetwork.deviceFor(key.toString()), TapNetwork.macFor(key.toString()));
        taps.get().ensure(device.device());
      }
      List<MachineSpec.Share> shares = syncSecrets(key, vm);
      GuestStoreChoice store = guestStore(dir, source.closure());
      LaunchPlan plan = runner.plan(new MachineSpec(key.namespace() + "." + key.name(), spec.cpu(),
          Quantities.bytes(spec.memory()) >> 20, files.kernel(), files.initrd(), files.cmdline(),
          ports.stream().map(p -> new MachineSpec.PortForward(p.host(), p.guest())).toList(), dir, device,
          tap ? taps.get().netns() : null, shares).withStore(store == null ? null : store.store()));
      Launch.of(spec.withBoot(source), ports).withGuestAddress(tap ? Launch.guestAddress(files.cmdline()) : null).write(dir);
      consoles.reset(key);
      RunningMachine m = runner.start(plan);
      cgroups.ifPresent(c -> c.place(key.toString(), m.pid(), spec.cpu(), Quantities.bytes(spec.memory())));
      metrics.counter("procurator.vm.boots").increment();
      bootStarted.put(key, System.nanoTime());
      if (restart) {
        metrics.counter("procurator.vm.restarts", "namespace", key.namespace(), "vm", key.name()).increment();
      }
      follow(key, dir, runner, m);
      log.info("{}: {} {} pid {} ({})", key, restart ? "restarted" : "started", runner.name(), m.pid(), plan.accelerator());
      events.normal(vm, "Started", "started " + runner.name() + " (" + plan.accelerator() + "), pid " + m.pid()
          + (store == null ? "" : "; " + store.description()));
    } catch (IllegalArgumentException e) {
      failures.put(key, new Observation.Failure(Observation.Failure.Kind.START, "InvalidSpec", e.getMessage(), clock.instant()));
    } catch (BootResolver.MissingException e) {
      failures.put(key, new Observation.Failure(Observation.Failure.Kind.START, e.reason(), e.getMessage(), clock.instant()));
    } catch (IOException e) {
      failures.put(key, new Observation.Failure(Observation.Failure.Kind.START, "StartFailed",
          runner.name() + " did not start: " + e.getMessage(), clock.instant()));
    }
  }

  /** What the guest mounts at /nix/store, and how the Started event says so. */
  private record GuestStoreChoice(MachineSpec.GuestStore store, String description) {}

  /** Where a VM's view of its closure's store is shared from when there is no image. */
  static final String STORE_VIEW = "store-view";

  /**
   * The closure's store for its guest: its image (built now if it is not yet), or, when none can be
   * made, a view of the closure made afresh in the VM's folder and shared over 9p. Null for a VM
   * that boots files, or when this host gives guests no store.
   */
  private GuestStoreChoice guestStore(Path dir, String closure) throws IOException {
    StoreImages images = storeImages;
    if (closure == null || images == null) {
      return null;
    }
    Path view = dir.resolve(STORE_VIEW);
    StoreImages.delete(view);
    return switch (images.prepare(closure)) {
      case StoreImages.Store.Image i -> new GuestStoreChoice(MachineSpec.GuestStore.image(i.file()),
          "store: erofs image " + i.file().getFileName() + " as /dev/vda");
      case StoreImages.Store.Unavailable u -> {
        try {
          StoreImages.view(StoreImages.requisites(closure, java.time.Duration.ofMinutes(10)), view);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          throw new IOException("interrupted while making the store view", e);
        }
        yield new GuestStoreChoice(MachineSpec.GuestStore.folder(view), "store: shared over 9p (no image: " + u.reason() + ")");
      }
    };
  }

  private void stop(ObjectKey key, String reason) {
    Followed f = machines.get(key);
    Path dir = workDir(key);
    Launch launch = Launch.read(dir);
    Runner runner = f != null ? f.runner() : runners.getOrDefault(launch == null ? Hypervisor.QEMU : launch.hypervisor(),
        runners.values().iterator().next());
    Optional<RunningMachine> m = f != null ? Optional.of(f.machine()) : runner.adopt(runner.files(dir));
    if (m.isPresent()) {
      try {
        runner.stop(m.get(), settings.stopGrace());
        log.info("{}: stopped {} pid {} ({})", key, runner.name(), m.get().pid(), reason);
      } catch (IOException e) {
        log.warn("{}: stopping pid {} failed: {}", key, m.get().pid(), e.getMessage());
      }
    }
    // followed until it is gone, so that no look at it meanwhile finds it again as a stranger
    unfollow(key);
    cgroups.ifPresent(c -> c.remove(key.toString()));
  }

  /** How long {@code key}'s boots take, from starting its machine to its guest's ready line. */
  private io.micrometer.core.instrument.Timer bootDuration(ObjectKey key) {
    return io.micrometer.core.instrument.Timer.builder("procurator.vm.boot.duration")
        .description("from starting the VM's machine to its guest's ready line").tags("namespace", key.namespace(), "vm", key.name())
        .serviceLevelObjectives(java.util.stream.Stream.of(1, 2, 5, 10, 20, 30, 60, 120).map(java.time.Duration::ofSeconds).toArray(java.time.Duration[]::new))
        .register(metrics);
  }

  /** Forgets {@code key} and removes everything it had on this host; its machine is already gone. */
  private void release(ObjectKey key) {
    if (secretFiles != null) {
      try {
        secretFiles.remove(key);
      } catch (IOException e) {
        log.warn("{}: removing its Secrets' files failed: {}", key, e.toString());
      }
    }
    health.forget(key);
    consoles.forget(key);
    unfollow(key);
    bootStarted.remove(key);
    // its own series go with it
    io.micrometer.core.instrument.Tags tags = io.micrometer.core.instrument.Tags.of("namespace", key.namespace(), "vm", key.name());
    metrics.find("procurator.vm.restarts").tags(tags).meters().forEach(metrics::remove);
    metrics.find("procurator.vm.boot.duration").tags(tags).meters().forEach(metrics::remove);
    failures.remove(key);
    resolutions.remove(key);
    Path dir = workDir(key);
    Launch launched = Launch.read(dir);
    cgroups.ifPresent(c -> c.remove(key.toString()));
    if (launched != null && launched.network() != null && launched.network().mode() == NetworkMode.TAP) {
      taps.ifPresent(t -> t.remove(TapNetwork.deviceFor(key.toString())));
    }
    try {
      StoreImages.delete(dir); // its store view has read-only folders
      log.info("{}: released", key);
    } catch (IOException e) {
      log.warn("{}: removing {} failed: {}", key, dir, e.toString());
    }
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

  /** Stops following machines; they keep running, for the next agent to adopt. */
  @Override
  public void close() throws IOException {
    slow.shutdownNow();
    health.close();
    consoles.close();
    machines.keySet().forEach(this::unfollow);
  }
}
