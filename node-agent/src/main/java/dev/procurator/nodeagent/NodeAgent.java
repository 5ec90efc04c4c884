package dev.procurator.nodeagent;

import dev.procurator.api.files.PrivateFiles;
import dev.procurator.api.runtime.Backoff;
import dev.procurator.api.runtime.EventRecorder;
import dev.procurator.api.runtime.Informers;
import dev.procurator.api.runtime.LoopBuilder;
import dev.procurator.api.runtime.LoopQueue;
import dev.procurator.api.runtime.ObjectKey;
import dev.procurator.api.v1alpha1.Build;
import dev.procurator.api.v1alpha1.BuildStatus;
import dev.procurator.api.v1alpha1.Hypervisor;
import dev.procurator.api.v1alpha1.Names;
import dev.procurator.api.v1alpha1.NodeAgreements;
import dev.procurator.api.v1alpha1.Quantities;
import dev.procurator.api.v1alpha1.VM;
import dev.procurator.api.v1alpha1.VMStatus;
import dev.procurator.nodeagent.build.BuildStep;
import dev.procurator.nodeagent.http.AgentHttp;
import dev.procurator.nodeagent.hypervisor.Runner;
import dev.procurator.nodeagent.hypervisor.qemu.QemuMicrovmRunner;
import dev.procurator.nodeagent.registration.HostFacts;
import dev.procurator.nodeagent.registration.NodeRegistration;
import dev.procurator.nodeagent.vm.BootResolver;
import dev.procurator.nodeagent.vm.Cgroups;
import dev.procurator.nodeagent.vm.ConsoleLog;
import dev.procurator.nodeagent.vm.TapNetwork;
import dev.procurator.nodeagent.vm.VmAction;
import dev.procurator.nodeagent.vm.VmHost;
import dev.procurator.nodeagent.vm.VmLoop;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.fabric8.kubernetes.client.informers.ResourceEventHandler;
import io.fabric8.kubernetes.client.informers.SharedIndexInformer;
import io.micrometer.core.instrument.MultiGauge;
import io.micrometer.core.instrument.Tags;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One host's agent, wired: registers the Node and renews its Lease, serves logs and metrics, and
 * runs two loops over informers that hold only this node's objects: the {@link VmLoop} for the VMs
 * bound here (field selector {@code spec.nodeName}) and the builder for the Builds placed here
 * ({@code status.nodeName}). Closing it leaves the VMs running: the next agent on this host adopts them.
 */
public final class NodeAgent implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(NodeAgent.class);
  private volatile AgentHttp.Tls servingTls;

  /** Serves the logs endpoint over TLS with this certificate (set before {@link #start}). */
  public NodeAgent withServingTls(AgentHttp.Tls tls) {
    this.servingTls = tls;
    return this;
  }

  /** A renewed serving certificate, for the endpoint's next handshakes. */
  public void updateServingCertificate(String certPem, String keyPem) {
    AgentHttp h = http;
    if (h != null) {
      h.updateCertificate(certPem, keyPem);
    }
  }

  /** How an agent runs: its node name and labels, where it keeps VMs and finds images, where it listens. */
  public record Config(String name, Map<String, String> labels, Path dataDir, Path imagesDir, InetSocketAddress listen,
      Duration leaseDuration, BootResolver.NixCache cache, VmLoop.Settings settings, int workers, TapNetwork.Config tap, int cpuOvercommit,
      Builds builds, dev.procurator.nodeagent.vm.StoreImages.Settings storeImages) {
    public Config {
      labels = Map.copyOf(labels);
      if (!Names.isSubdomain(name)) {
        throw new IllegalArgumentException("node name \"" + name + "\" is not a DNS-1123 subdomain");
      }
    }

    /** Defaults for a node called {@code name} keeping its data in {@code dataDir}. */
    public static Config of(String name, Path dataDir) {
      return new Config(name, Map.of(), dataDir, dataDir.resolve("images"), new InetSocketAddress("127.0.0.1", 0),
          Duration.ofSeconds(40), null, VmLoop.Settings.defaults(), 4, null, 4, new Builds(1, null, null, null),
          dev.procurator.nodeagent.vm.StoreImages.Settings.defaults());
    }

    public Config withLabels(Map<String, String> l) {
      return new Config(name, l, dataDir, imagesDir, listen, leaseDuration, cache, settings, workers, tap, cpuOvercommit, builds, storeImages);
    }

    public Config withImagesDir(Path d) {
      return new Config(name, labels, dataDir, d, listen, leaseDuration, cache, settings, workers, tap, cpuOvercommit, builds, storeImages);
    }

    public Config withListen(InetSocketAddress a) {
      return new Config(name, labels, dataDir, imagesDir, a, leaseDuration, cache, settings, workers, tap, cpuOvercommit, builds, storeImages);
    }

    public Config withLeaseDuration(Duration d) {
      return new Config(name, labels, dataDir, imagesDir, listen, d, cache, settings, workers, tap, cpuOvercommit, builds, storeImages);
    }

    public Config withCache(BootResolver.NixCache c) {
      return new Config(name, labels, dataDir, imagesDir, listen, leaseDuration, c, settings, workers, tap, cpuOvercommit, builds, storeImages);
    }

    /** Tap networking on {@code bridge}, with tap devices and their VMs in network namespace {@code netns} (null: the agent's). */
    public Config withTap(String bridge, String netns) {
      return new Config(name, labels, dataDir, imagesDir, listen, leaseDuration, cache, settings, workers, new TapNetwork.Config(bridge, netns), cpuOvercommit, builds, storeImages);
    }

    /** vCPUs the scheduler may place per host CPU (default 4, what TCG handles; KVM hosts take more). */
    public Config withCpuOvercommit(int ratio) {
      if (ratio < 1) {
        throw new IllegalArgumentException("CPU overcommit must be at least 1, not " + ratio);
      }
      return new Config(name, labels, dataDir, imagesDir, listen, leaseDuration, cache, settings, workers, tap, ratio, builds, storeImages);
    }

    /** Builds: how many run here at once (0: this node builds nothing), and the cache a Build without one pushes to. */
    public Config withBuilds(Builds b) {
      return new Config(name, labels, dataDir, imagesDir, listen, leaseDuration, cache, settings, workers, tap, cpuOvercommit, b, storeImages);
    }

    /** How VMs' guests get their closure's store (images built with mkfs.erofs, kept while used). */
    public Config withStoreImages(dev.procurator.nodeagent.vm.StoreImages.Settings s) {
      return new Config(name, labels, dataDir, imagesDir, listen, leaseDuration, cache, settings, workers, tap, cpuOvercommit, builds, s);
    }

    public Config withSettings(VmLoop.Settings s) {
      return new Config(name, labels, dataDir, imagesDir, listen, leaseDuration, cache, s, workers, tap, cpuOvercommit, builds, storeImages);
    }
  }

  /**
   * How this node builds: at most {@code maxBuilds} at once; a Build that names no cache pushes to
   * {@code cacheUrl} with {@code pushToken} (both may be null: such Builds fail); {@code
   * extraNixConf} is added to every attempt's nix.conf (a store of its own, substituters); with
   * {@code allowUnsandboxed} a host whose nix cannot sandbox builds anyway, as root; {@code
   * privateDirs} are folders beside the agent's data dir that no Build may name as its flake.
   */
  public record Builds(int maxBuilds, String cacheUrl, String pushToken, String extraNixConf, boolean allowUnsandboxed,
      java.util.List<Path> privateDirs) {
    public Builds(int maxBuilds, String cacheUrl, String pushToken) {
      this(maxBuilds, cacheUrl, pushToken, null, false, java.util.List.of());
    }

    public Builds(int maxBuilds, String cacheUrl, String pushToken, String extraNixConf) {
      this(maxBuilds, cacheUrl, pushToken, extraNixConf, false, java.util.List.of());
    }

    public Builds {
      if (maxBuilds < 0) {
        throw new IllegalArgumentException("--max-builds must be 0 or more, not " + maxBuilds);
      }
    }

    @Override
    public String toString() {
      return "Builds[maxBuilds=" + maxBuilds + ", cacheUrl=" + cacheUrl + "]"; // never the token
    }
  }

  private final KubernetesClient client;
  private final Config config;
  private final Clock clock;
  private final PrometheusMeterRegistry metrics = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
  private final ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor(
      Thread.ofPlatform().daemon().name("agent-heartbeat").factory());
  private VmHost host;
  private EventRecorder events;
  /** The informers of this node's VMs and Builds, shared by its loops. */
  private Informers informers;
  private SharedIndexInformer<VM> informer;
  private volatile LoopQueue vmQueue;
  private LoopBuilder.Running vmLoop;
  private volatile dev.procurator.nodeagent.secrets.SecretWatches secretWatches;
  private dev.procurator.nodeagent.vm.SecretFiles secretFiles;
  private volatile AgentHttp http;
  private dev.procurator.nodeagent.build.Builder.Settings buildSettings;
  private dev.procurator.nodeagent.build.Builder builder;
  private LoopBuilder.Running buildLoop;
  private NodeRegistration registration;
  private MultiGauge cpuSeconds;
  private MultiGauge rss;
  private MultiGauge netReceived;
  private MultiGauge netSent;
  /** What the VMs bound here ask for, as the last heartbeat counted it. */
  private final java.util.concurrent.atomic.AtomicLong allocatedCpus = new java.util.concurrent.atomic.AtomicLong();
  private final java.util.concurrent.atomic.AtomicLong allocatedMemory = new java.util.concurrent.atomic.AtomicLong();

  public NodeAgent(KubernetesClient client, Config config, Clock clock) {
    this.client = client;
    this.config = config;
    this.clock = clock;
  }

  /** The hypervisors this host really has. */
  static Map<Hypervisor, Runner> detectRunners() {
    Map<Hypervisor, Runner> runners = new HashMap<>();
    if (onPath("qemu-system-x86_64")) {
      runners.put(Hypervisor.QEMU, QemuMicrovmRunner.forThisHost());
    }
    return runners;
  }

  private static boolean onPath(String binary) {
    String path = System.getenv().getOrDefault("PATH", "/usr/bin:/bin");
    for (String d : path.split(":")) {
      if (Files.isExecutable(Path.of(d, binary))) {
        return true;
      }
    }
    return false;
  }

  public NodeAgent start() throws IOException {
    Map<Hypervisor, Runner> runners = detectRunners();
    if (runners.isEmpty()) {
      throw new IllegalStateException("no hypervisor found on this host: install qemu-system-x86 (qemu-system-x86_64 on the PATH)");
    }
    boolean kvm = runners.get(Hypervisor.QEMU) instanceof QemuMicrovmRunner q && q.accelerator().equals("kvm");
    // the node's key, its VMs' consoles and its builds' credentials live here: the owner's only
    PrivateFiles.privateDirectory(config.dataDir());
    Files.createDirectories(config.dataDir().resolve("vms"));
    Files.createDirectories(config.imagesDir());
    Cgroups.Result cg = Cgroups.detect(Path.of("/sys/fs/cgroup"), config.name());
    log.info("node {}: hypervisors {}, accelerator {}, {}", config.name(), runners.keySet(), kvm ? "kvm" : "tcg", cg.description());
    BootResolver boot = new BootResolver(config.imagesDir(), config.cache(), Duration.ofMinutes(10));
    events = new EventRecorder(client, "procurator.dev/node-agent", config.name(), clock);
    informers = new Informers(client);
    informer = client.resources(VM.class).inAnyNamespace().withField("spec.nodeName", config.name()).runnableInformer(0);
    informers.use(VM.class, informer);
    secretFiles = secretFiles(config);
    // a Secret's change reaches the VMs here that mount it: their next pass rewrites its files
    secretWatches = new dev.procurator.nodeagent.secrets.SecretWatches(client, this::wakeMounting);
    informer.addEventHandler(new SecretsFollowVms());
    // machines left from before are adopted before anything is asked of the API, and their VMs are
    // the first keys on the queue (kept if still bound here, stopped if not); the workers start once
    // the cache of this node's VMs is filled, and neither that nor the Node's registration waits for the other
    vmLoop = LoopBuilder.<VM, VMStatus, VmAction>forKind("node-agent", VM.class, informers,
            new NodeObjects<>(client, VM.class, informer, VmLoop.heldBy(config.name())))
        .updatesWhen(VmLoop::matters)
        .finalizer(NodeAgreements.AGENT_FINALIZER)
        .events(events)
        .backoff(new Backoff<>(Duration.ofMillis(200), Duration.ofMinutes(2)))
        .workers(config.workers()).start(queue -> {
          vmQueue = queue;
          // the host wakes the loop (process exits, ready lines, probes, finished operations) through its queue
          try {
            host = new VmHost(runners, boot, config.dataDir().resolve("vms"), cg.cgroups(), Optional.ofNullable(config.tap()).map(TapNetwork::new),
                config.settings(), clock, metrics, events, queue::enqueue);
            host.withSecrets(secretFiles, this::readSecret);
            host.withStoreImages(new dev.procurator.nodeagent.vm.StoreImages(config.dataDir().resolve("store-images"), config.storeImages(), clock));
            host.adoptRunning().forEach(queue::enqueue);
          } catch (IOException e) {
            throw new UncheckedIOException(e);
          }
          return new VmLoop(host, config.settings(), clock);
        });
    cpuSeconds = MultiGauge.builder("procurator.vm.cpu.seconds").description("CPU time of the VM's hypervisor process")
        .register(metrics);
    rss = MultiGauge.builder("procurator.vm.rss.bytes").description("resident memory of the VM's hypervisor process")
        .register(metrics);
    netReceived = MultiGauge.builder("procurator.vm.network.receive.bytes").description("bytes the VM received on its tap device (tap VMs only)")
        .register(metrics);
    netSent = MultiGauge.builder("procurator.vm.network.transmit.bytes").description("bytes the VM sent on its tap device (tap VMs only)")
        .register(metrics);
    io.micrometer.core.instrument.Gauge.builder("procurator.node.allocated.cpus", allocatedCpus, java.util.concurrent.atomic.AtomicLong::get)
        .description("CPUs the VMs bound to this node ask for").register(metrics);
    io.micrometer.core.instrument.Gauge.builder("procurator.node.allocated.memory.bytes", allocatedMemory,
        java.util.concurrent.atomic.AtomicLong::get).description("memory the VMs bound to this node ask for").register(metrics);
    startBuilder();
    http = new AgentHttp(config.listen(), client, key -> host.workDir(ObjectKey.parse(key)),
        dir -> new ConsoleLog(dir.resolve("serial.log"), dir.resolve("serial.log.1")), metrics, this::refreshGauges)
        .withBuildLogs(key -> buildSettings.dirOf(ObjectKey.parse(key)))
        .withTls(servingTls)
        .start();
    registration = new NodeRegistration(client, config.name(), config.labels(),
        new ArrayList<>(runners.keySet()), kvm, HostFacts.read(), clock, config.leaseDuration(), config.cpuOvercommit())
        .withBuilds(config.builds().maxBuilds())
        .withImages(() -> {
          List<dev.procurator.api.v1alpha1.NodeStatus.Image> images = new ArrayList<>(boot.heldClosures());
          images.addAll(dev.procurator.nodeagent.registration.BootImages.scan(config.imagesDir()));
          return images;
        })
        .withBinaryCache(boot.hasCache());
    boolean registered = true;
    try {
      registration.register(http.url(), 0, null);
    } catch (KubernetesClientException e) {
      if (e.getCode() != 409) {
        throw e;
      }
      registered = false; // raced the node lifecycle controller: the first heartbeat registers at once
    }
    long renewMs = registration.renewEvery().toMillis();
    timer.scheduleWithFixedDelay(this::heartbeat, registered ? renewMs : 0, renewMs, TimeUnit.MILLISECONDS);
    log.info("node agent {} serving logs and metrics at {}", config.name(), http.url());
    return this;
  }

  /**
   * The builder: the Builds placed on this node (field selector {@code status.nodeName}) run here.
   * A Build that leaves this node (moved back to the queue, deleted) is a delete event here, and
   * its attempt is stopped. A node that builds nothing ({@code --max-builds 0}) watches no Builds.
   */
  private void startBuilder() throws IOException {
    Path dir = config.dataDir().resolve("builds");
    PrivateFiles.privateDirectory(dir);
    NodeAgent.Builds b = config.builds();
    buildSettings = new dev.procurator.nodeagent.build.Builder.Settings(b.maxBuilds(), b.cacheUrl(), b.pushToken(), dir, b.extraNixConf(),
        b.allowUnsandboxed(), java.util.stream.Stream.concat(b.privateDirs() == null ? java.util.stream.Stream.<Path>empty()
            : b.privateDirs().stream(), java.util.stream.Stream.of(config.dataDir())).toList());
    dev.procurator.nodeagent.build.SandboxCheck sandbox = buildSettings.sandboxCheck();
    // say at start whether Builds here can run sandboxed; each attempt checks again until they can
    Thread.ofVirtual().name("sandbox-check").start(() -> {
      try {
        String problem = sandbox.problem(b.extraNixConf());
        if (problem == null) {
          log.info("builds run in nix's sandbox as build users");
        } else if (b.allowUnsandboxed()) {
          log.warn("Builds here will run WITHOUT a sandbox, as root (--allow-unsandboxed-builds): {}", problem);
        } else {
          log.warn("Builds placed here will fail SandboxUnavailable: {}", problem);
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    });
    if (b.maxBuilds() == 0) {
      return;
    }
    var builds = client.resources(Build.class).inAnyNamespace().withField("status.nodeName", config.name()).runnableInformer(0);
    informers.use(Build.class, builds);
    buildLoop = LoopBuilder.<Build, BuildStatus, BuildStep.Action>forKind("builder", Build.class, informers,
            new NodeObjects<>(client, Build.class, builds, x -> true))
        .events(events)
        .backoff(new Backoff<>(Duration.ofMillis(200), Duration.ofMinutes(1)))
        .workers(2).start(queue -> builder = new dev.procurator.nodeagent.build.Builder(client, config.name(), buildSettings, sandbox, clock,
            queue, events));
  }

  /** The VMs' changes that change which Secrets they mount start or stop those Secrets' watches. */
  private final class SecretsFollowVms implements ResourceEventHandler<VM> {
    @Override
    public void onAdd(VM vm) {
      followSecrets();
    }

    @Override
    public void onUpdate(VM oldVm, VM vm) {
      if (!Objects.equals(oldVm.getSpec().secrets(), vm.getSpec().secrets())) {
        followSecrets();
      }
    }

    @Override
    public void onDelete(VM vm, boolean unknown) {
      followSecrets();
    }
  }

  /** Watches the Secrets the VMs bound here mount, and no others. */
  private void followSecrets() {
    var w = secretWatches;
    var i = informer;
    if (w != null && i != null) {
      w.follow(i.getStore().list());
    }
  }

  /** The VMs bound here that mount the Secret {@code secret} go back on the queue. */
  private void wakeMounting(ObjectKey secret) {
    String ns = secret.namespace();
    String name = secret.name();
    var informed = informer;
    var queue = vmQueue;
    if (informed == null || queue == null) {
      return;
    }
    for (VM vm : informed.getStore().list()) {
      if (ns.equals(vm.getMetadata().getNamespace()) && vm.getSpec().secrets() != null
          && vm.getSpec().secrets().stream().anyMatch(m -> name.equals(m.name()))) {
        queue.enqueue(ObjectKey.of(vm));
      }
    }
  }

  /** A Secret's values, decoded. */
  private Optional<Map<String, byte[]>> readSecret(ObjectKey key) {
    var w = secretWatches;
    if (w != null) {
      return w.read(key);
    }
    dev.procurator.api.v1alpha1.Secret s = client.resources(dev.procurator.api.v1alpha1.Secret.class).inNamespace(key.namespace())
        .withName(key.name()).get();
    return s == null || s.getSpec() == null ? Optional.empty() : Optional.of(s.getSpec().decoded());
  }

  /**
   * Where VMs' Secrets are written: a private folder with a random name on a tmpfs
   * ({@code /dev/shm}) when the host has one, so that values stay in memory; else in the data
   * directory. The folder's path is kept in the data directory, for the next start.
   */
  private static dev.procurator.nodeagent.vm.SecretFiles secretFiles(Config config) throws IOException {
    Path shm = Path.of("/dev/shm");
    return dev.procurator.nodeagent.vm.SecretFiles.inPrivateFolder(Files.isDirectory(shm) ? shm : config.dataDir(),
        config.dataDir().resolve("secrets-folder"));
  }

  /** Renews the Lease and reports what runs here in the Node's status. */
  private void heartbeat() {
    try {
      long cpu = 0;
      long mem = 0;
      for (VM vm : informer.getStore().list()) {
        if (vm.getMetadata().getDeletionTimestamp() == null) {
          cpu += vm.getSpec().cpu() == null ? 0 : vm.getSpec().cpu();
          mem += Quantities.bytes(vm.getSpec().memory());
        }
      }
      allocatedCpus.set(cpu);
      allocatedMemory.set(mem);
      host.sweepStoreImages();
      registration.register(http.url(), host.running().size(), new java.util.TreeMap<>(Map.of("cpu", Long.toString(cpu), "memory", (mem >> 20) + "Mi")));
    } catch (RuntimeException e) {
      log.warn("node {}: heartbeat failed: {}", config.name(), e.getMessage());
    }
  }

  private void refreshGauges() {
    List<MultiGauge.Row<?>> cpuRows = new ArrayList<>();
    List<MultiGauge.Row<?>> rssRows = new ArrayList<>();
    List<MultiGauge.Row<?>> receivedRows = new ArrayList<>();
    List<MultiGauge.Row<?>> sentRows = new ArrayList<>();
    host.running().forEach((key, pid) -> {
      Tags tags = Tags.of("namespace", key.namespace(), "vm", key.name());
      ProcStats s = ProcStats.of(pid);
      cpuRows.add(MultiGauge.Row.of(tags, s.cpuSeconds()));
      rssRows.add(MultiGauge.Row.of(tags, s.rssBytes()));
      // a tap VM's device, seen where its QEMU runs; a user-mode VM has none
      NetDev.of(pid, dev.procurator.nodeagent.vm.TapNetwork.deviceFor(key.toString())).ifPresent(n -> {
        receivedRows.add(MultiGauge.Row.of(tags, n.vmReceivedBytes()));
        sentRows.add(MultiGauge.Row.of(tags, n.vmSentBytes()));
      });
    });
    cpuSeconds.register(cpuRows, true);
    rss.register(rssRows, true);
    netReceived.register(receivedRows, true);
    netSent.register(sentRows, true);
  }

  public String name() {
    return config.name();
  }

  public String endpoint() {
    return http.url();
  }

  /** This host's VMs: their working directories and the machines that run. */
  public VmHost host() {
    return host;
  }

  /** Where this agent writes VMs' Secrets for their guests. */
  public Path secretsDir() {
    return secretFiles.root();
  }

  @Override
  public void close() throws InterruptedException {
    timer.shutdownNow();
    if (secretWatches != null) {
      secretWatches.close();
    }
    if (builder != null) {
      builder.close();
    }
    if (buildLoop != null) {
      buildLoop.close();
    }
    if (vmLoop != null) {
      vmLoop.close();
    }
    if (informers != null) {
      informers.close();
    }
    if (host != null) {
      try {
        host.close();
      } catch (IOException e) {
        log.debug("closing the VM host: {}", e.toString());
      }
    }
    if (secretFiles != null) {
      try {
        secretFiles.removeEmptyFolders(); // the Secrets of VMs that keep running stay for the next start
      } catch (IOException e) {
        log.debug("tidying {}: {}", secretFiles.root(), e.toString());
      }
    }
    if (events != null) {
      events.close();
    }
    if (http != null) {
      http.close();
    }
  }
}
