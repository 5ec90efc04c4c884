package dev.procurator.api.runtime;

import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.OwnerReference;
import io.fabric8.kubernetes.client.CustomResource;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.informers.ResourceEventHandler;
import io.fabric8.kubernetes.client.informers.SharedIndexInformer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Objects;
import java.util.function.BiPredicate;
import java.util.function.Function;

/**
 * Declares a loop and starts it, in the spirit of controller-runtime's builder: the primary kind
 * whose keys the queue holds, the kinds it owns (their ownerReferences lead to the key), other
 * kinds mapped to keys, which updates matter, the finalizer it holds, and how many workers run.
 * {@link #start} waits until every cache the loop reads has synced before its first worker runs.
 *
 * <pre>{@code
 * LoopBuilder.forKind("scheduler", VM.class, client, informers)
 *     .watches(Node.class, node -> unboundVms())
 *     .events(recorder)
 *     .start(queue -> new SchedulerLoop(...));
 * }</pre>
 */
public final class LoopBuilder<P extends HasMetadata, S, A> {
  private final String name;
  private final Class<P> kind;
  private final Informers informers;
  private final SharedIndexInformer<P> primaryInformer;
  private Primaries<P, S> primaries;
  private final List<Runnable> registrations = new ArrayList<>();
  private final List<SharedIndexInformer<?>> reads = new ArrayList<>();
  private BiPredicate<P, P> updateMatters = (before, after) -> true;
  private String finalizer;
  private Dispatcher.Events events = Dispatcher.Events.NONE;
  private LoopMetrics metrics = LoopMetrics.NONE;
  private Backoff<ObjectKey> backoff = new Backoff<>(Duration.ofMillis(5), Duration.ofMinutes(5));
  private Scheduler scheduler = Scheduler.system();
  private Duration syncTimeout = Duration.ofMinutes(5);
  private int workers = 1;

  private LoopBuilder(String name, Class<P> kind, Informers informers, Primaries<P, S> primaries) {
    this.name = name;
    this.kind = kind;
    this.informers = informers;
    this.primaryInformer = informers.of(kind);
    this.primaries = primaries;
    reads.add(primaryInformer);
  }

  /** A loop over {@code kind}, whose status it writes, read from the shared informer of {@code kind}. */
  public static <P extends CustomResource<?, S>, S, A> LoopBuilder<P, S, A> forKind(String name, Class<P> kind, KubernetesClient client,
      Informers informers) {
    SharedIndexInformer<P> informer = informers.of(kind);
    return new LoopBuilder<>(name, kind, informers, new KubePrimaries<>(client, kind, informer));
  }

  /** A loop over {@code kind} whose objects are read and written through {@code primaries}. */
  public static <P extends HasMetadata, S, A> LoopBuilder<P, S, A> forKind(String name, Class<P> kind, Informers informers,
      Primaries<P, S> primaries) {
    return new LoopBuilder<>(name, kind, informers, primaries);
  }

  /** Only updates for which {@code matters(before, after)} holds put the key on the queue (adds and deletes always do). */
  public LoopBuilder<P, S, A> updatesWhen(BiPredicate<P, P> matters) {
    this.updateMatters = Objects.requireNonNull(matters);
    return this;
  }

  /** The loop holds {@code finalizer} on every live object, and lets go when its decision releases one being deleted. */
  public LoopBuilder<P, S, A> finalizer(String finalizer) {
    this.finalizer = finalizer;
    return this;
  }

  /** A change to an object of {@code owned} puts its owner of the primary kind on the queue (by its ownerReferences). */
  public <O extends HasMetadata> LoopBuilder<P, S, A> owns(Class<O> owned) {
    String ownerKind = HasMetadata.getKind(kind);
    return watches(informers.of(owned), o -> {
      List<ObjectKey> keys = new ArrayList<>();
      List<OwnerReference> refs = o.getMetadata().getOwnerReferences();
      if (refs != null) {
        for (OwnerReference r : refs) {
          if (ownerKind.equals(r.getKind())) {
            keys.add(new ObjectKey(o.getMetadata().getNamespace(), r.getName()));
          }
        }
      }
      return keys;
    });
  }

  /** A change to an object of {@code other} (added, updated or deleted) puts the keys {@code toKeys} gives on the queue. */
  public <O extends HasMetadata> LoopBuilder<P, S, A> watches(Class<O> other, Function<O, Collection<ObjectKey>> toKeys) {
    return watches(informers.of(other), toKeys);
  }

  /** As {@link #watches(Class, Function)}, through a given informer. */
  public <O extends HasMetadata> LoopBuilder<P, S, A> watches(SharedIndexInformer<O> informer, Function<O, Collection<ObjectKey>> toKeys) {
    reads.add(informer);
    registrations.add(() -> informer.addEventHandler(Handlers.onEveryChange(o -> toKeys.apply(o).forEach(this::enqueue))));
    return this;
  }

  /** An update of an object of {@code other} puts the keys {@code toKeys(before, after)} gives on the queue. */
  public <O extends HasMetadata> LoopBuilder<P, S, A> whenUpdated(Class<O> other, java.util.function.BiFunction<O, O, Collection<ObjectKey>> toKeys) {
    SharedIndexInformer<O> informer = informers.of(other);
    reads.add(informer);
    registrations.add(() -> informer.addEventHandler(Handlers.<O>onUpdate((before, after) -> toKeys.apply(before, after).forEach(this::enqueue))));
    return this;
  }

  /** Deleting an object of {@code other} puts the keys {@code toKeys} gives on the queue (room freed, say). */
  public <O extends HasMetadata> LoopBuilder<P, S, A> whenDeleted(Class<O> other, Function<O, Collection<ObjectKey>> toKeys) {
    SharedIndexInformer<O> informer = informers.of(other);
    reads.add(informer);
    registrations.add(() -> informer.addEventHandler(Handlers.<O>onDelete(o -> toKeys.apply(o).forEach(this::enqueue))));
    return this;
  }

  /** A cache the loop reads in its decisions without being woken by it: the workers also wait for it to sync. */
  public LoopBuilder<P, S, A> reads(SharedIndexInformer<?> informer) {
    reads.add(informer);
    return this;
  }

  public LoopBuilder<P, S, A> events(EventRecorder recorder) {
    this.events = Dispatcher.Events.of(recorder);
    return this;
  }

  public LoopBuilder<P, S, A> events(Dispatcher.Events sink) {
    this.events = sink;
    return this;
  }

  public LoopBuilder<P, S, A> metrics(LoopMetrics metrics) {
    this.metrics = metrics;
    return this;
  }

  public LoopBuilder<P, S, A> backoff(Backoff<ObjectKey> backoff) {
    this.backoff = backoff;
    return this;
  }

  /** Time for delayed requeues (tests move it by hand). */
  public LoopBuilder<P, S, A> scheduler(Scheduler scheduler) {
    this.scheduler = scheduler;
    return this;
  }

  public LoopBuilder<P, S, A> workers(int count) {
    if (count < 1) {
      throw new IllegalArgumentException("a loop needs at least one worker");
    }
    this.workers = count;
    return this;
  }

  public LoopBuilder<P, S, A> syncTimeout(Duration timeout) {
    this.syncTimeout = timeout;
    return this;
  }

  private Controller<ObjectKey> controller;

  private void enqueue(ObjectKey key) {
    controller.enqueue(key);
  }

  /**
   * Builds the loop with its own queue and starts watching; its workers start once every cache it
   * reads has synced. Returns at once.
   */
  public Running start(Function<LoopQueue, ? extends Loop<P, S, A>> loopFactory) {
    if (controller != null) {
      throw new IllegalStateException("loop " + name + " was started already");
    }
    Dispatcher<P, S, A>[] dispatcher = newDispatcherHolder();
    controller = new Controller<>(name, key -> dispatcher[0].reconcile(key), scheduler, backoff, metrics);
    Running running = new Running(name, controller);
    dispatcher[0] = new Dispatcher<>(loopFactory.apply(running), primaries, finalizer, events);
    primaryInformer.addEventHandler(new ResourceEventHandler<P>() {
      @Override
      public void onAdd(P o) {
        enqueue(ObjectKey.of(o));
      }

      @Override
      public void onUpdate(P before, P after) {
        if (updateMatters.test(before, after) || Finalizers.deleting(after)) {
          enqueue(ObjectKey.of(after));
        }
      }

      @Override
      public void onDelete(P o, boolean finalStateUnknown) {
        enqueue(ObjectKey.of(o));
      }
    });
    registrations.forEach(Runnable::run);
    // the workers start once every cache the loop reads is full, on a thread of the informers': the
    // caller (a leader taking over, say) never waits, and closing the loop first means they never start
    running.starting = informers.whenSynced(name, reads, syncTimeout, () -> controller.start(workers));
    return running;
  }

  @SuppressWarnings("unchecked")
  private Dispatcher<P, S, A>[] newDispatcherHolder() {
    return (Dispatcher<P, S, A>[]) new Dispatcher<?, ?, ?>[1];
  }

  /** A started loop: its queue, and closing it stops its workers (the shared informers stay). */
  public static final class Running implements LoopQueue, AutoCloseable {
    private final String name;
    private final Controller<ObjectKey> controller;
    private volatile AutoCloseable starting;

    Running(String name, Controller<ObjectKey> controller) {
      this.name = name;
      this.controller = controller;
    }

    @Override
    public void enqueue(ObjectKey key) {
      controller.enqueue(key);
    }

    @Override
    public void enqueueAfter(ObjectKey key, Duration delay) {
      controller.queue().addAfter(key, delay);
    }

    /** Keys waiting now. */
    public int depth() {
      return controller.queue().length();
    }

    @Override
    public void close() throws InterruptedException {
      AutoCloseable s = starting;
      if (s != null) {
        try {
          s.close();
        } catch (Exception e) {
          throw new IllegalStateException(e);
        }
      }
      controller.close();
    }

    @Override
    public String toString() {
      return "loop " + name;
    }
  }
}
