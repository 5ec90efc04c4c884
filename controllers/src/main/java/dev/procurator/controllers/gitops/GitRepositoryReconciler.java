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
import java.util.ArrayList;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.function.Consumer;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The GitOps loop: reads a GitRepository, lets {@link GitSync#decide} say what is due from it and
 * from what the last step of its sync left, writes the status once, and starts the next step off
 * the worker threads; a step's end puts the key back on the queue. A status write that loses a race
 * (409) goes back on the queue with the step's result kept for the next pass.
 */
public final class GitRepositoryReconciler implements Reconciler<ObjectKey>, AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(GitRepositoryReconciler.class);

  private final KubernetesClient client;
  private final Clock clock;
  private final Syncer syncer;
  private final EventRecorder events;
  private final Consumer<ObjectKey> wake;
  private final ExecutorService slow = Executors.newThreadPerTaskExecutor(Thread.ofVirtual().name("gitops-sync-", 0).factory());
  /** Per GitRepository, a step running (empty) or the result of one not yet written (present). */
  private final Map<ObjectKey, Optional<SyncResult>> steps = new ConcurrentHashMap<>();

  /**
   * @param cacheDir where the remotes are mirrored, one bare repository per GitRepository
   * @param wake puts a key back on the controller's queue
   * @param flakeLimits how long and in how much memory a {@code source: Flake} commit may evaluate
   */
  public GitRepositoryReconciler(KubernetesClient client, Path cacheDir, EventRecorder events, Clock clock, Consumer<ObjectKey> wake,
      boolean allowPrivateUrls, dev.procurator.api.nix.NixJail.Limits flakeLimits) {
    this.client = client;
    this.clock = clock;
    this.events = events;
    this.syncer = new Syncer(client, cacheDir, events, allowPrivateUrls, true, flakeLimits);
    this.wake = wake;
  }

  @Override
  public Result reconcile(ObjectKey key) {
    GitRepository repo = client.resources(GitRepository.class).inNamespace(key.namespace()).withName(key.name()).get();
    Optional<SyncResult> step = steps.get(key);
    if (repo == null) {
      if (step != null && step.isPresent()) {
        steps.remove(key, step);
      }
      return Result.done();
    }
    SyncResult finished = step == null ? null : step.orElse(null);
    GitSync.Decision d = GitSync.decide(repo, step != null && step.isEmpty(), finished, clock.instant());
    if (d.status() != null) {
      repo = StatusWriter.write(client, repo, d.status()); // a 409 requeues the key; the result waits for the next pass
    }
    if (finished != null) {
      steps.remove(key, step);
    }
    GitRepository current = repo;
    d.events().forEach(e -> events.record(current, e.type(), e.reason(), e.note()));
    switch (d.action()) {
      case GitSync.Action.None none -> { }
      case GitSync.Action.AddFinalizer add -> {
        if (current.getMetadata().getFinalizers() == null) {
          current.getMetadata().setFinalizers(new ArrayList<>());
        }
        current.getMetadata().getFinalizers().add(GitSync.FINALIZER);
        client.resource(current).update();
      }
      case GitSync.Action.Sync sync -> slowly(key, () -> syncer.prepare(current, sync.why()));
      case GitSync.Action.Apply apply -> slowly(key, () -> syncer.apply(current, apply.validated()));
      case GitSync.Action.Finalize fin -> slowly(key, () -> {
        syncer.finalizeRepo(current, fin.prune());
        return null;
      });
    }
    return d.requeueAfter() == null ? Result.done() : Result.requeueAfter(d.requeueAfter());
  }

  /** Runs one step off the workers; its result (null: none) waits for the next pass, which its end asks for. */
  private void slowly(ObjectKey key, Supplier<SyncResult> work) {
    if (steps.putIfAbsent(key, Optional.empty()) != null) {
      return;
    }
    slow.execute(() -> {
      SyncResult result = null;
      try {
        result = work.get();
      } catch (RuntimeException e) {
        log.warn("{}: sync failed: {}", key, e.toString());
      } finally {
        if (result == null) {
          steps.remove(key);
        } else {
          steps.put(key, Optional.of(result));
        }
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
