package dev.procurator.api.runtime;

import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.Namespaced;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.informers.SharedIndexInformer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * One informer per kind, shared by every loop of a process (controller-runtime's cache): two loops
 * that watch VMs share one watch and one cache. A kind is watched in every namespace unless a
 * narrower informer was {@linkplain #use given} for it (one namespace, a field selector). Informers
 * start when the first loop that needs them starts, and that loop's workers wait until every cache
 * they read has listed everything once.
 */
public final class Informers implements AutoCloseable {
  private static final org.slf4j.Logger log = org.slf4j.LoggerFactory.getLogger(Informers.class);
  private final KubernetesClient client;
  private final Map<Class<?>, SharedIndexInformer<?>> byKind = new LinkedHashMap<>();
  private final Map<SharedIndexInformer<?>, CompletableFuture<Void>> started = new IdentityHashMap<>();
  private boolean closed;

  public Informers(KubernetesClient client) {
    this.client = client;
  }

  /** The shared informer of {@code kind}, made (unstarted) on first use. */
  @SuppressWarnings("unchecked")
  public synchronized <T extends HasMetadata> SharedIndexInformer<T> of(Class<T> kind) {
    return (SharedIndexInformer<T>) byKind.computeIfAbsent(kind, k -> Namespaced.class.isAssignableFrom(kind)
        ? client.resources(kind).inAnyNamespace().runnableInformer(0)
        : client.resources(kind).runnableInformer(0));
  }

  /** Uses {@code informer} (unstarted) for {@code kind}: a namespace's or a field selector's view of it. */
  public synchronized <T extends HasMetadata> Informers use(Class<T> kind, SharedIndexInformer<T> informer) {
    if (byKind.containsKey(kind)) {
      throw new IllegalStateException("an informer for " + kind.getSimpleName() + " is already in use");
    }
    byKind.put(kind, informer);
    return this;
  }

  /**
   * Starts those of {@code informers} that are not running yet and waits until each has synced.
   *
   * @throws TimeoutException when one has not synced within {@code timeout}
   */
  public void sync(Collection<? extends SharedIndexInformer<?>> informers, Duration timeout)
      throws InterruptedException, TimeoutException {
    List<CompletableFuture<Void>> waits = new ArrayList<>();
    synchronized (this) {
      if (closed) {
        throw new IllegalStateException("the informers are closed");
      }
      for (SharedIndexInformer<?> i : informers) {
        waits.add(started.computeIfAbsent(i, x -> x.start().toCompletableFuture()));
      }
    }
    try {
      CompletableFuture.allOf(waits.toArray(CompletableFuture[]::new)).get(timeout.toMillis(), TimeUnit.MILLISECONDS);
    } catch (ExecutionException e) {
      throw new IllegalStateException("an informer could not start: " + e.getCause(), e.getCause());
    }
  }

  /**
   * Starts {@code informers} and, once each has synced, runs {@code then}, on a thread of its own:
   * the caller never waits for a cache. Closing the returned handle before then means {@code then}
   * never runs. A cache that takes longer than {@code warnAfter} is logged, and waited for still:
   * no loop decides from a half-filled cache.
   */
  public AutoCloseable whenSynced(String what, Collection<? extends SharedIndexInformer<?>> informers, Duration warnAfter, Runnable then) {
    java.util.concurrent.atomic.AtomicBoolean cancelled = new java.util.concurrent.atomic.AtomicBoolean();
    Thread waiter = Thread.ofVirtual().name(what + "-sync").start(() -> {
      while (!cancelled.get()) {
        try {
          sync(informers, warnAfter);
          synchronized (cancelled) {
            if (!cancelled.get()) {
              then.run();
            }
          }
          return;
        } catch (TimeoutException e) {
          log.warn("{}: the caches it reads have not filled after {}; still waiting", what, warnAfter);
        } catch (InterruptedException e) {
          return;
        } catch (RuntimeException e) {
          if (cancelled.get() || closedNow()) {
            return;
          }
          log.warn("{}: waiting for its caches failed ({}); trying again", what, e.toString());
          try {
            Thread.sleep(1000); // not a synchronisation: a pause before the next attempt
          } catch (InterruptedException ie) {
            return;
          }
        }
      }
    });
    return () -> {
      synchronized (cancelled) {
        cancelled.set(true);
      }
      waiter.interrupt();
    };
  }

  private synchronized boolean closedNow() {
    return closed;
  }

  /** Whether every informer started so far has synced. */
  public synchronized boolean hasSynced() {
    return started.keySet().stream().allMatch(SharedIndexInformer::hasSynced);
  }

  @Override
  public synchronized void close() {
    closed = true;
    for (SharedIndexInformer<?> i : byKind.values()) {
      i.close();
    }
  }
}
