package dev.procurator.controllers;

import dev.procurator.api.files.PrivateFiles;
import dev.procurator.api.runtime.Controller;
import dev.procurator.api.runtime.Informers;
import dev.procurator.api.runtime.Loop;
import dev.procurator.api.runtime.LoopBuilder;
import dev.procurator.api.runtime.LoopQueue;
import dev.procurator.api.v1alpha1.VMStatus;
import dev.procurator.controllers.scheduler.SchedulerLoop;
import dev.procurator.api.runtime.EventRecorder;
import dev.procurator.api.runtime.ObjectKey;
import dev.procurator.api.v1alpha1.Build;
import dev.procurator.api.v1alpha1.BuildPhase;
import dev.procurator.api.v1alpha1.Cluster;
import dev.procurator.api.v1alpha1.GitRepository;
import dev.procurator.api.v1alpha1.Node;
import dev.procurator.api.v1alpha1.Revisions;
import dev.procurator.api.v1alpha1.VM;
import dev.procurator.controllers.builds.BuildLoop;
import dev.procurator.api.v1alpha1.BuildStatus;
import dev.procurator.controllers.clusters.CachePins;
import dev.procurator.controllers.clusters.ClosureNameTable;
import dev.procurator.controllers.clusters.ClusterLoop;
import dev.procurator.api.nix.ClosureNames;
import dev.procurator.controllers.clusters.RolloutAction;
import dev.procurator.api.v1alpha1.ClusterStatus;
import dev.procurator.controllers.gc.GarbageCollector;
import dev.procurator.controllers.gc.GcKey;
import dev.procurator.controllers.gitops.GitOpsLoop;
import dev.procurator.api.v1alpha1.GitRepositoryStatus;
import dev.procurator.controllers.nodes.NodeLifecycleLoop;
import dev.procurator.api.v1alpha1.NodeAgreements;
import dev.procurator.api.v1alpha1.NodeStatus;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.apps.ControllerRevision;
import io.fabric8.kubernetes.api.model.coordination.v1.Lease;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.extended.leaderelection.LeaderCallbacks;
import io.fabric8.kubernetes.client.extended.leaderelection.LeaderElectionConfigBuilder;
import io.fabric8.kubernetes.client.extended.leaderelection.resourcelock.LeaseLock;
import io.fabric8.kubernetes.client.informers.SharedIndexInformer;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs the control plane's loops in one process, and only while this replica holds the leader
 * Lease {@code procurator-system/procurator-controllers}: any number of replicas may run, one of
 * them acts, and a replica that loses the lease stops its loops before another starts its own.
 * The loops: the scheduler, node lifecycle, builds, clusters (rollouts), GitOps and the garbage
 * collector. Each is declared here over one set of shared {@link Informers} (what it watches, which
 * caches it reads, its workers); the decisions are in the loops' own packages. Wiring only.
 */
public final class ControllerManager implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(ControllerManager.class);
  public static final String LEASE_NAMESPACE = "procurator-system";
  public static final String LEASE_NAME = "procurator-controllers";
  private static final String BY_CLUSTER = "cluster";
  private static final String BY_NODE = "node";

  /**
   * Leader election timings, the node grace period, and the binary cache the Cluster controller
   * pins revisions in (none: no pins).
   */
  public record Config(String identity, Duration leaseDuration, Duration renewDeadline, Duration retryPeriod, Duration nodeGracePeriod,
      String cacheUrl, String cachePushToken, java.nio.file.Path gitCacheDir, boolean allowPrivateGitUrls,
      dev.procurator.api.nix.NixJail.Limits flakeEvalLimits) {
    public Config(String identity, Duration leaseDuration, Duration renewDeadline, Duration retryPeriod, Duration nodeGracePeriod,
        String cacheUrl, String cachePushToken, java.nio.file.Path gitCacheDir, boolean allowPrivateGitUrls) {
      this(identity, leaseDuration, renewDeadline, retryPeriod, nodeGracePeriod, cacheUrl, cachePushToken, gitCacheDir, allowPrivateGitUrls,
          dev.procurator.api.nix.NixJail.Limits.DEFAULT);
    }

    public Config(String identity, Duration leaseDuration, Duration renewDeadline, Duration retryPeriod, Duration nodeGracePeriod,
        String cacheUrl, String cachePushToken) {
      this(identity, leaseDuration, renewDeadline, retryPeriod, nodeGracePeriod, cacheUrl, cachePushToken, null, false);
    }

    public static Config defaults(String identity) {
      return new Config(identity, Duration.ofSeconds(15), Duration.ofSeconds(10), Duration.ofSeconds(2), Duration.ofSeconds(40), null, null);
    }

    /**
     * Where the GitOps controller mirrors GitRepositories' remotes (a cache: safe to delete; made
     * 0700). Null: a private temporary folder, made when the controller first leads and removed on close.
     */
    public Config withGitCacheDir(java.nio.file.Path dir) {
      return new Config(identity, leaseDuration, renewDeadline, retryPeriod, nodeGracePeriod, cacheUrl, cachePushToken, dir, allowPrivateGitUrls, flakeEvalLimits);
    }

    /**
     * Whether GitRepositories may name {@code file://} remotes and HTTP(S) remotes on loopback,
     * link-local or private addresses (off: refused with a condition saying why).
     */
    public Config withPrivateGitUrls(boolean allow) {
      return new Config(identity, leaseDuration, renewDeadline, retryPeriod, nodeGracePeriod, cacheUrl, cachePushToken, gitCacheDir, allow, flakeEvalLimits);
    }

    public Config withNodeGracePeriod(Duration d) {
      return new Config(identity, leaseDuration, renewDeadline, retryPeriod, d, cacheUrl, cachePushToken, gitCacheDir, allowPrivateGitUrls, flakeEvalLimits);
    }

    public Config withLeaderTimings(Duration lease, Duration renew, Duration retry) {
      return new Config(identity, lease, renew, retry, nodeGracePeriod, cacheUrl, cachePushToken, gitCacheDir, allowPrivateGitUrls, flakeEvalLimits);
    }

    public Config withIdentity(String id) {
      return new Config(id, leaseDuration, renewDeadline, retryPeriod, nodeGracePeriod, cacheUrl, cachePushToken, gitCacheDir, allowPrivateGitUrls, flakeEvalLimits);
    }

    /** How long and in how much memory a GitRepository's {@code source: Flake} commit may evaluate. */
    public Config withFlakeEvalLimits(dev.procurator.api.nix.NixJail.Limits limits) {
      return new Config(identity, leaseDuration, renewDeadline, retryPeriod, nodeGracePeriod, cacheUrl, cachePushToken, gitCacheDir,
          allowPrivateGitUrls, limits);
    }

    /** Pin every closure a live or kept Cluster revision boots in the cache at {@code url}, with its push token. */
    public Config withCache(String url, String pushToken) {
      return new Config(identity, leaseDuration, renewDeadline, retryPeriod, nodeGracePeriod, url, pushToken, gitCacheDir, allowPrivateGitUrls, flakeEvalLimits);
    }
  }

  private final KubernetesClient client;
  private final Config config;
  private final Clock clock;
  private final List<AutoCloseable> running = new ArrayList<>();
  /** How often the binary cache's closure names are read. */
  static final Duration NAME_POLL = Duration.ofSeconds(5);
  private volatile boolean leading;
  private volatile boolean closed;
  private volatile java.util.function.Consumer<Boolean> leadership = led -> { };
  private CompletableFuture<?> election;
  private io.fabric8.kubernetes.client.extended.leaderelection.LeaderElector elector;
  /**
   * Starts a term's loops off the elector's thread: filling the caches can take longer than the
   * lease lasts, and the elector renews the lease on the thread that tells us we lead.
   */
  private final java.util.concurrent.ExecutorService starter =
      java.util.concurrent.Executors.newSingleThreadExecutor(Thread.ofVirtual().name("controllers-start").factory());
  /** Moves on at every start and stop of a term: a start still queued when its term ended does nothing. */
  private final java.util.concurrent.atomic.AtomicLong term = new java.util.concurrent.atomic.AtomicLong();
  private java.nio.file.Path gitCache;
  private boolean gitCacheIsTemporary;
  private volatile dev.procurator.api.runtime.LoopMetrics loopMetrics = dev.procurator.api.runtime.LoopMetrics.NONE;

  public ControllerManager(KubernetesClient client, Config config, Clock clock) {
    this.client = client;
    this.config = config;
    this.clock = clock;
  }

  /**
   * Enters the election. A replica that loses the lead (a missed renewal on a busy host) stops its
   * controllers and enters the election again, so it can take over later.
   */
  public synchronized ControllerManager start() {
    if (closed) {
      return this;
    }
    elector = client.leaderElector().withConfig(new LeaderElectionConfigBuilder()
        .withName(LEASE_NAME)
        .withLock(new LeaseLock(LEASE_NAMESPACE, LEASE_NAME, config.identity()))
        .withLeaseDuration(config.leaseDuration())
        .withRenewDeadline(config.renewDeadline())
        .withRetryPeriod(config.retryPeriod())
        // released by close() once the loops have stopped: the elector would release it first, then call back
        .withReleaseOnCancel(false)
        .withLeaderCallbacks(new LeaderCallbacks(this::tookLead, this::stopLeading,
            leader -> log.info("controllers: {} leads", leader)))
        .build()).build();
    election = elector.start();
    election.whenComplete((r, e) -> {
      if (!closed) {
        log.info("controllers: {} left the election ({}), entering it again", config.identity(), e == null ? "lead lost" : e.toString());
        stopLeading();
        CompletableFuture.delayedExecutor(config.retryPeriod().toMillis(), java.util.concurrent.TimeUnit.MILLISECONDS)
            .execute(this::start);
      }
    });
    return this;
  }

  public boolean leading() {
    return leading;
  }

  /**
   * Reports every loop's passes and queue, and whether this replica leads
   * ({@code leader_election_master_status{name="procurator-controllers"}}), to {@code registry}
   * (see {@link ControllerMetrics}). Set it before {@link #start()}.
   */
  public ControllerManager withMetrics(io.micrometer.core.instrument.MeterRegistry registry) {
    ControllerMetrics m = new ControllerMetrics(registry);
    m.leader(LEASE_NAME, this::leading);
    this.loopMetrics = m;
    return this;
  }

  /**
   * Tells {@code listener} {@code true} as this replica takes the lead, before any loop starts, and
   * {@code false} once every loop it ran has stopped: between the two, and only then, it acts.
   * Set it before {@link #start()}.
   */
  public ControllerManager onLeadership(java.util.function.Consumer<Boolean> listener) {
    this.leadership = listener;
    return this;
  }

  /** On the elector's thread: starts the term's loops on another, so the elector goes on renewing the lease meanwhile. */
  private void tookLead() {
    long t = term.incrementAndGet();
    try {
      starter.execute(() -> startLeading(t));
    } catch (java.util.concurrent.RejectedExecutionException closing) {
      // closed meanwhile: nothing starts
    }
  }

  private synchronized void startLeading(long t) {
    if (closed || term.get() != t) {
      return; // the lease came as this replica was closing, or the term ended before its loops started
    }
    try {
      startLoops();
    } catch (RuntimeException e) {
      // a leader without its loops must not keep the lease: stop what started, and leave the election
      // (entering it again after the retry period)
      log.error("controllers: {} could not start its loops, giving up the lead: {}", config.identity(), e.toString(), e);
      stopLoops();
      CompletableFuture<?> el = election;
      if (el != null) {
        el.cancel(true);
      }
    }
  }

  /** Starts every loop; none waits for its caches here (each loop's workers start once its caches are full). */
  private void startLoops() {
    leadership.accept(true);
    log.info("controllers: {} took the lead, starting the scheduler, node lifecycle, cluster and garbage collection controllers",
        config.identity());
    // one informer per kind for every loop; each loop's workers wait until the caches it reads are full
    Informers informers = new Informers(client);
    running.add(informers);
    SharedIndexInformer<VM> vms = informers.of(VM.class);
    SharedIndexInformer<Node> nodes = informers.of(Node.class);
    EventRecorder schedulerEvents = new EventRecorder(client, "procurator.dev/scheduler", config.identity(), clock);
    EventRecorder nodeEvents = new EventRecorder(client, "procurator.dev/node-lifecycle", config.identity(), clock);
    running.add(schedulerEvents);
    running.add(nodeEvents);
    // indexes before any informer starts
    vms.addIndexers(Map.of(BY_NODE, vm -> vm.getSpec().nodeName() == null || vm.getSpec().nodeName().isEmpty() ? List.of()
        : List.of(vm.getSpec().nodeName())));
    clusters(informers, vms);
    builds(informers);
    gitRepositories(informers);
    scheduler(informers, vms, nodes, schedulerEvents);
    nodeLifecycle(informers, vms, nodeEvents);
    garbageCollector();
    leading = true;
  }

  /**
   * The scheduler: an unbound VM's changes put it on the queue; a node's change, or a bound VM's
   * deletion (room freed), puts every unbound VM there. Decisions start once the VM and Node caches
   * hold everything: a half-filled cache would hide bound VMs.
   */
  private void scheduler(Informers informers, SharedIndexInformer<VM> vms, SharedIndexInformer<Node> nodes, EventRecorder events) {
    java.util.function.Supplier<List<ObjectKey>> pending = () -> vms.getStore().list().stream().filter(ControllerManager::unbound)
        .map(ObjectKey::of).toList();
    running.add(startLoop(LoopBuilder.<VM, VMStatus, SchedulerLoop.Action>forKind("scheduler", VM.class, client, informers)
        // an unbound VM waits for a node; a bound one matters only when its node says it cannot boot it
        .updatesWhen((before, after) -> unbound(after) || SchedulerLoop.unbootableHere(after))
        .watches(Node.class, n -> pending.get())
        .whenDeleted(VM.class, vm -> unbound(vm) ? List.of() : pending.get())
        .events(events), q -> new SchedulerLoop(client, clock, () -> nodes.getStore().list(), () -> vms.getStore().list())));
  }

  /**
   * The node lifecycle controller: a Node's or its heartbeat Lease's change puts the Node on the
   * queue; its decision reads the Lease and the Node's VMs from the caches.
   */
  private void nodeLifecycle(Informers informers, SharedIndexInformer<VM> vms, EventRecorder events) {
    SharedIndexInformer<Lease> leases = client.leases().inNamespace(NodeAgreements.LEASE_NAMESPACE).runnableInformer(0);
    informers.use(Lease.class, leases);
    running.add(startLoop(LoopBuilder.<Node, NodeStatus, NodeLifecycleLoop.Evict>forKind("node-lifecycle", Node.class, client, informers)
        .watches(Lease.class, l -> List.of(ObjectKey.cluster(l.getMetadata().getName())))
        .reads(vms)
        .events(events),
        q -> new NodeLifecycleLoop(client, clock, config.nodeGracePeriod(),
            node -> leases.getStore().getByKey(NodeAgreements.LEASE_NAMESPACE + "/" + node), node -> vms.getIndexer().byIndex(BY_NODE, node),
            events)));
  }



  private <P extends HasMetadata, S, A> LoopBuilder.Running startLoop(LoopBuilder<P, S, A> builder,
      Function<LoopQueue, Loop<P, S, A>> loop) {
    return builder.metrics(loopMetrics).start(loop);
  }


  /** The Cluster controller: a Cluster's changes and its VMs' changes put the Cluster on its queue. */
  private void clusters(Informers informers, SharedIndexInformer<VM> vms) {
    SharedIndexInformer<Cluster> clusters = informers.of(Cluster.class);
    EventRecorder clusterEvents = new EventRecorder(client, "procurator.dev/cluster-controller", config.identity(), clock);
    running.add(clusterEvents);
    Optional<CachePins> pins = config.cacheUrl() == null ? Optional.empty() : Optional.of(new CachePins(config.cacheUrl(), config.cachePushToken()));
    // a Cluster's VMs and revisions by the label that names it, so that a pass finds them without a list call
    Function<HasMetadata, List<String>> byCluster = o -> {
      String cluster = o.getMetadata().getLabels() == null ? null : o.getMetadata().getLabels().get(Revisions.CLUSTER_LABEL);
      return cluster == null ? List.of() : List.of(o.getMetadata().getNamespace() + "/" + cluster);
    };
    vms.addIndexers(Map.of(BY_CLUSTER, byCluster::apply));
    SharedIndexInformer<ControllerRevision> revisions = informers.of(ControllerRevision.class);
    revisions.addIndexers(Map.of(BY_CLUSTER, byCluster::apply));
    ClusterLoop.Caches caches = new ClusterLoop.Caches(
        key -> vms.hasSynced() ? Optional.of(vms.getIndexer().byIndex(BY_CLUSTER, key.namespace() + "/" + key.name())) : Optional.empty(),
        key -> revisions.hasSynced() ? Optional.of(revisions.getIndexer().byIndex(BY_CLUSTER, key.namespace() + "/" + key.name()))
            : Optional.empty());
    // the cache's closure names, read on a timer of their own; a name that moves wakes every Cluster
    Optional<ClosureNameTable> names = config.cacheUrl() == null ? Optional.empty()
        : Optional.of(new ClosureNameTable(ClosureNames.at(config.cacheUrl(), config.cachePushToken()), NAME_POLL));
    LoopBuilder.Running loop = startLoop(LoopBuilder.<Cluster, ClusterStatus, RolloutAction>forKind("clusters", Cluster.class, client, informers)
        .watches(VM.class, vm -> owner(vm).map(List::of).orElse(List.of()))
        .reads(revisions)
        // closures pinned in the cache are unpinned before the Cluster goes
        .finalizer(pins.isPresent() ? ClusterLoop.PINS_FINALIZER : null)
        .workers(2)
        .events(clusterEvents),
        q -> new ClusterLoop(client, clock, clusterEvents, pins, () -> clusters.getStore().list(), caches,
            () -> names.map(ClosureNameTable::snapshot)));
    running.add(loop);
    names.ifPresent(table -> {
      table.onChange(() -> clusters.getStore().list().forEach(c -> loop.enqueue(dev.procurator.api.runtime.ObjectKey.of(c)))).start();
      running.add(table);
    });
  }

  /**
   * The build controller: a Build's changes put it on its queue; a Node's change puts every Build
   * that waits for a builder or runs on that node on it (room freed, a builder lost), as does a
   * Build leaving its builder or going; a Cluster's change puts the Builds deploying to it there.
   * One worker: one placement at a time, so two Builds never take the same slot.
   */
  private void builds(Informers informers) {
    SharedIndexInformer<Build> builds = informers.of(Build.class);
    SharedIndexInformer<Node> nodes = informers.of(Node.class);
    SharedIndexInformer<Cluster> clusters = informers.of(Cluster.class);
    EventRecorder buildEvents = new EventRecorder(client, "procurator.dev/build-controller", config.identity(), clock);
    running.add(buildEvents);
    java.util.function.Supplier<List<ObjectKey>> queued = () -> builds.getStore().list().stream()
        .filter(b -> b.getStatus() == null || b.getStatus().phase() == null || b.getStatus().phase() == BuildPhase.PENDING)
        .map(ObjectKey::of).toList();
    running.add(startLoop(LoopBuilder.<Build, BuildStatus, BuildLoop.Action>forKind("builds", Build.class, client, informers)
        // a Build that left its builder frees a slot for those queued
        .whenUpdated(Build.class, (before, after) -> onBuilder(before) && !onBuilder(after) ? queued.get() : List.of())
        .whenDeleted(Build.class, b -> queued.get())
        .watches(Node.class, n -> {
          List<ObjectKey> keys = new ArrayList<>(queued.get());
          builds.getStore().list().stream().filter(b -> b.getStatus() != null && n.getMetadata().getName().equals(b.getStatus().nodeName()))
              .map(ObjectKey::of).forEach(keys::add);
          return keys;
        })
        .watches(Cluster.class, c -> builds.getStore().list().stream()
            .filter(b -> b.getSpec().deploy() != null && c.getMetadata().getName().equals(b.getSpec().deploy().cluster())
                && c.getMetadata().getNamespace().equals(b.getMetadata().getNamespace()))
            .map(ObjectKey::of).toList())
        .events(buildEvents),
        q -> new BuildLoop(client, clock, () -> nodes.getStore().list(), () -> builds.getStore().list(),
            key -> clusters.getStore().getByKey(key.toString()))));
  }

  private static boolean onBuilder(Build b) {
    return b.getStatus() != null && b.getStatus().phase() != null && b.getStatus().phase().onBuilder();
  }

  /**
   * The folder GitRepositories are mirrored in, which holds their code: the configured one, the
   * owner's only, or else a private temporary folder made as mkdtemp(3) makes one (a random name,
   * 0700), so that no other user can have made it, or a link of its name, beforehand.
   */
  private synchronized java.nio.file.Path gitCache() {
    if (gitCache == null) {
      try {
        if (config.gitCacheDir() != null) {
          PrivateFiles.privateDirectory(config.gitCacheDir());
          gitCache = config.gitCacheDir();
        } else {
          gitCache = PrivateFiles.createTempDirectory(java.nio.file.Path.of(System.getProperty("java.io.tmpdir")), "procurator-gitops-");
          gitCacheIsTemporary = true;
        }
      } catch (java.io.IOException e) {
        throw new java.io.UncheckedIOException("cannot make the GitOps mirror folder: " + e.getMessage(), e);
      }
    }
    return gitCache;
  }

  private static Optional<ObjectKey> owner(VM vm) {
    String cluster = vm.getMetadata().getLabels() == null ? null : vm.getMetadata().getLabels().get(Revisions.CLUSTER_LABEL);
    return cluster == null ? Optional.empty() : Optional.of(ObjectKey.of(vm.getMetadata().getNamespace(), cluster));
  }

  /** The GitOps controller: a GitRepository's changes put it on its queue; its syncs run off the workers. */
  private void gitRepositories(Informers informers) {
    EventRecorder gitEvents = new EventRecorder(client, "procurator.dev/gitops-controller", config.identity(), clock);
    running.add(gitEvents);
    java.util.concurrent.atomic.AtomicReference<GitOpsLoop> loop = new java.util.concurrent.atomic.AtomicReference<>();
    running.add(() -> { // its syncs stop once its workers have (closing goes backwards)
      GitOpsLoop l = loop.get();
      if (l != null) {
        l.close();
      }
    });
    running.add(startLoop(LoopBuilder.<GitRepository, GitRepositoryStatus, GitOpsLoop.Step>forKind("gitrepositories", GitRepository.class,
            client, informers)
        // its own status writes need no look; a spec, annotation, finalizer or deletion change does
        .updatesWhen((before, after) -> before.getMetadata().getGeneration() == null
            || !java.util.Objects.equals(before.getMetadata().getGeneration(), after.getMetadata().getGeneration())
            || !java.util.Objects.equals(before.getMetadata().getAnnotations(), after.getMetadata().getAnnotations())
            || !java.util.Objects.equals(before.getMetadata().getFinalizers(), after.getMetadata().getFinalizers()))
        .workers(2)
        .events(gitEvents),
        q -> {
          GitOpsLoop l = new GitOpsLoop(client, gitCache(), gitEvents, clock, q, config.allowPrivateGitUrls(), config.flakeEvalLimits());
          loop.set(l);
          return l;
        }));
  }


  /** The garbage collector, over every kind the server serves. */
  private void garbageCollector() {
    GarbageCollector gc = new GarbageCollector(client, GarbageCollector.discover(client));
    Controller<GcKey> controller = new Controller<>("garbage-collector", gc, dev.procurator.api.runtime.Scheduler.system(),
        new dev.procurator.api.runtime.Backoff<>(java.time.Duration.ofMillis(5), java.time.Duration.ofMinutes(5)), loopMetrics);
    running.add(gc);
    running.add(controller);
    gc.start(controller, 2);
  }

  private static boolean unbound(VM vm) {
    return (vm.getSpec().nodeName() == null || vm.getSpec().nodeName().isEmpty()) && vm.getMetadata().getDeletionTimestamp() == null;
  }



  private void stopLeading() {
    term.incrementAndGet(); // a start not yet begun does nothing
    stopLoops();
  }

  private synchronized void stopLoops() {
    boolean was = leading || !running.isEmpty();
    if (leading) {
      log.info("controllers: {} lost or gave up the lead, stopping", config.identity());
    }
    leading = false;
    for (AutoCloseable c : running.reversed()) {
      try {
        c.close();
      } catch (Exception e) {
        log.warn("controllers: stopping {} failed: {}", c, e.toString());
      }
    }
    running.clear();
    if (was) {
      leadership.accept(false);
    }
  }

  @Override
  public void close() {
    CompletableFuture<?> e;
    io.fabric8.kubernetes.client.extended.leaderelection.LeaderElector el;
    closed = true;
    synchronized (this) {
      e = election;
      el = elector;
    }
    // the loops stop while this replica still holds the lease; only then is the lease released, so the
    // next leader never starts beside them
    stopLeading();
    starter.shutdown();
    if (el != null) {
      try {
        el.release();
      } catch (RuntimeException ex) {
        log.info("controllers: {} could not give up the lease ({}); it expires by itself", config.identity(), ex.toString());
      }
    }
    if (e != null) {
      e.cancel(true);
    }
    synchronized (this) {
      if (gitCacheIsTemporary) {
        deleteTree(gitCache);
      }
    }
  }

  private static void deleteTree(java.nio.file.Path dir) {
    try (java.util.stream.Stream<java.nio.file.Path> walk = java.nio.file.Files.walk(dir)) {
      for (java.nio.file.Path p : walk.sorted(java.util.Comparator.reverseOrder()).toList()) {
        java.nio.file.Files.deleteIfExists(p);
      }
    } catch (java.io.IOException ex) {
      log.debug("removing {}: {}", dir, ex.toString());
    }
  }
}
