package dev.procurator.controllers.gitops;

import dev.procurator.api.runtime.EventRecorder;
import dev.procurator.api.runtime.ObjectKey;
import dev.procurator.api.runtime.Decision;
import dev.procurator.api.runtime.Loop;
import dev.procurator.api.runtime.LoopQueue;
import dev.procurator.api.v1alpha1.GitRepositoryStatus;
import dev.procurator.api.v1alpha1.GitRepository;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.nio.file.Path;
import java.time.Clock;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The GitOps loop, on the loop skeleton: {@link GitSync#decide} says what is due from the
 * GitRepository and from what the last step of its sync left; the dispatcher writes the status
 * once, then the next step starts off the worker threads, and its end puts the key back on the
 * loop's queue. A status write that loses a race (409) requeues the key with the step's result kept
 * for the next pass: the result is let go only by an action after the status write.
 */
public final class GitOpsLoop implements Loop<GitRepository, GitRepositoryStatus, GitOpsLoop.Step>, AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(GitOpsLoop.class);

  /** What a pass does besides writing status. */
  public sealed interface Step {}

  /** Carry out {@code action}: add the finalizer, or start a sync, apply or finalize off the worker. */
  public record Run(GitSync.Action action) implements Step {}

  /** The step's result is in the status now: let it go. */
  public record Written(Optional<SyncResult> step) implements Step {}

  private final KubernetesClient client;
  private final Clock clock;
  private final Syncer syncer;
  private final LoopQueue queue;
  private final ExecutorService slow = Executors.newThreadPerTaskExecutor(Thread.ofVirtual().name("gitops-sync-", 0).factory());
  /** Per GitRepository, a step running (empty) or the result of one not yet written (present). */
  private final Map<ObjectKey, Optional<SyncResult>> steps = new ConcurrentHashMap<>();

  /**
   * @param cacheDir where the remotes are mirrored, one bare repository per GitRepository
   * @param queue the loop's own queue, which a step's end puts the key back on
   * @param flakeLimits how long and in how much memory a {@code source: Flake} commit may evaluate
   */
  public GitOpsLoop(KubernetesClient client, Path cacheDir, EventRecorder events, Clock clock, LoopQueue queue,
      boolean allowPrivateUrls, dev.procurator.api.nix.NixJail.Limits flakeLimits) {
    this.client = client;
    this.clock = clock;
    this.syncer = new Syncer(client, cacheDir, events, allowPrivateUrls, true, flakeLimits);
    this.queue = queue;
  }

  @Override
  public Decision<GitRepositoryStatus, Step> decide(GitRepository repo) {
    ObjectKey key = ObjectKey.of(repo);
    Optional<SyncResult> step = steps.get(key);
    SyncResult finished = step == null ? null : step.orElse(null);
    GitSync.Decision d = GitSync.decide(repo, step != null && step.isEmpty(), finished, clock.instant());
    Decision<GitRepositoryStatus, Step> out = new Decision<>(d.status(), java.util.List.of(), d.events(), d.requeueAfter(), false);
    if (finished != null) {
      out = out.act(new Written(step));
    }
    return d.action() instanceof GitSync.Action.None ? out : out.act(new Run(d.action()));
  }

  @Override
  public GitRepository act(GitRepository repo, Step step) {
    ObjectKey key = ObjectKey.of(repo);
    switch (step) {
      case Written w -> steps.remove(key, w.step());
      case Run run -> {
        switch (run.action()) {
          case GitSync.Action.None none -> { }
          case GitSync.Action.AddFinalizer add -> {
            repo.getMetadata().setFinalizers(dev.procurator.api.runtime.Finalizers.with(repo, GitSync.FINALIZER));
            return client.resource(repo).update();
          }
          case GitSync.Action.Sync sync -> slowly(key, () -> syncer.prepare(repo, sync.why()));
          case GitSync.Action.Apply apply -> slowly(key, () -> syncer.apply(repo, apply.validated()));
          case GitSync.Action.Finalize fin -> slowly(key, () -> {
            syncer.finalizeRepo(repo, fin.prune());
            return null;
          });
        }
      }
    }
    return repo;
  }

  @Override
  public void forget(ObjectKey key) {
    Optional<SyncResult> step = steps.get(key);
    if (step != null && step.isPresent()) {
      steps.remove(key, step); // a running step's end removes its own entry
    }
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
        queue.enqueue(key);
      }
    });
  }

  @Override
  public void close() {
    slow.shutdownNow();
    syncer.close();
  }
}
