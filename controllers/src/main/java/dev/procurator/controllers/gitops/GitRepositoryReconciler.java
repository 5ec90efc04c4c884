package dev.procurator.controllers.gitops;

import dev.procurator.api.runtime.EventRecorder;
import dev.procurator.api.runtime.ObjectKey;
import dev.procurator.api.runtime.Reconciler;
import dev.procurator.api.runtime.Result;
import dev.procurator.api.runtime.StatusWriter;
import dev.procurator.api.v1alpha1.GitRepository;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The GitOps loop: reads a GitRepository, lets {@link GitSync#decide} say what is due, and starts
 * a sync off the worker threads; the sync's end puts the key back on the queue.
 */
public final class GitRepositoryReconciler implements Reconciler<ObjectKey>, AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(GitRepositoryReconciler.class);

  private final KubernetesClient client;
  private final Clock clock;
  private final Syncer syncer;
  private final Consumer<ObjectKey> wake;
  private final ExecutorService slow = Executors.newThreadPerTaskExecutor(Thread.ofVirtual().name("gitops-sync-", 0).factory());
  private final Map<ObjectKey, Boolean> inFlight = new ConcurrentHashMap<>();
  private final Map<ObjectKey, Instant> lastSync = new ConcurrentHashMap<>();

  /**
   * @param cacheDir where the remotes are mirrored, one bare repository per GitRepository
   * @param wake puts a key back on the controller's queue
   * @param flakeLimits how long and in how much memory a {@code source: Flake} commit may evaluate
   */
  public GitRepositoryReconciler(KubernetesClient client, Path cacheDir, EventRecorder events, Clock clock, Consumer<ObjectKey> wake,
      boolean allowPrivateUrls, dev.procurator.api.nix.NixJail.Limits flakeLimits) {
    this.client = client;
    this.clock = clock;
    this.syncer = new Syncer(client, cacheDir, events, clock, allowPrivateUrls, true, flakeLimits);
    this.wake = wake;
  }

  @Override
  public Result reconcile(ObjectKey key) {
    GitRepository repo = client.resources(GitRepository.class).inNamespace(key.namespace()).withName(key.name()).get();
    if (repo == null) {
      lastSync.remove(key);
      return Result.done();
    }
    GitSync.Decision d = GitSync.decide(repo, inFlight.containsKey(key), lastSync.get(key), clock.instant());
    if (d.status() != null) {
      repo = StatusWriter.write(client, repo, d.status());
    }
    GitRepository current = repo;
    switch (d.action()) {
      case GitSync.Action.None none -> { }
      case GitSync.Action.AddFinalizer add -> {
        if (current.getMetadata().getFinalizers() == null) {
          current.getMetadata().setFinalizers(new ArrayList<>());
        }
        current.getMetadata().getFinalizers().add(GitSync.FINALIZER);
        client.resource(current).update();
      }
      case GitSync.Action.Sync sync -> slowly(key, () -> syncer.sync(current, sync.why()));
      case GitSync.Action.Finalize fin -> slowly(key, () -> syncer.finalizeRepo(current, fin.prune()));
    }
    return d.requeueAfter() == null ? Result.done() : Result.requeueAfter(d.requeueAfter());
  }

  private void slowly(ObjectKey key, Runnable work) {
    if (inFlight.putIfAbsent(key, Boolean.TRUE) != null) {
      return;
    }
    slow.execute(() -> {
      try {
        work.run();
      } catch (RuntimeException e) {
        log.warn("{}: sync failed: {}", key, e.toString());
      } finally {
        lastSync.put(key, clock.instant());
        inFlight.remove(key);
        wake.accept(key);
      }
    });
  }

  @Override
  public void close() {
    slow.shutdownNow();
    syncer.close();
  }
}
