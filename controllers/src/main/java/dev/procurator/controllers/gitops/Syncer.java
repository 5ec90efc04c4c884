package dev.procurator.controllers.gitops;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.procurator.api.runtime.EventRecorder;
import dev.procurator.api.runtime.ObjectKey;
import dev.procurator.api.runtime.EventSpec;
import dev.procurator.api.v1alpha1.GitRepository;
import dev.procurator.api.v1alpha1.GitRepositorySpec;
import dev.procurator.api.v1alpha1.GitRepositoryStatus;
import dev.procurator.api.v1alpha1.GitRepositoryStatus.InventoryEntry;
import dev.procurator.api.v1alpha1.Identities;
import io.fabric8.kubernetes.api.model.DeletionPropagation;
import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.fabric8.kubernetes.client.RequestConfig;
import io.fabric8.kubernetes.client.RequestConfigBuilder;
import io.fabric8.kubernetes.client.dsl.base.ResourceDefinitionContext;
import java.io.IOException;
import dev.procurator.api.nix.NixJail;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The I/O of a GitRepository's sync, the slow part of its loop, in two steps: {@link #prepare}
 * fetches, reads the commit, lists what the server holds, asks {@link SyncPlan} what to do and
 * validates it whole with a server-side dry run; {@link #apply} applies with server-side apply as
 * {@link GitSync#MANAGER} and prunes. Each step ends in a {@link SyncResult} and writes no status:
 * the loop does. Runs off the controller's workers; one step at a time per GitRepository.
 */
final class Syncer implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(Syncer.class);
  private static final ObjectMapper JSON = new ObjectMapper();

  private final KubernetesClient client;
  private final EventRecorder events;
  private final ServerSideApply applier = new ServerSideApply();
  private final CommitReader commits;

  private final boolean allowPrivateUrls;
  /** Per GitRepository, a client that impersonates its identity (sharing this client's connections). */
  private final Map<ObjectKey, KubernetesClient> identities = new ConcurrentHashMap<>();

  private final boolean impersonate;

  /** {@code impersonate} false: with the controllers' own rights, only for measuring what impersonation costs. */
  Syncer(KubernetesClient client, Path cacheDir, EventRecorder events, boolean allowPrivateUrls, boolean impersonate) {
    this(client, cacheDir, events, allowPrivateUrls, impersonate, NixJail.Limits.DEFAULT);
  }

  /** {@code flakeLimits}: how long and in how much memory a {@code source: Flake} commit may evaluate. */
  Syncer(KubernetesClient client, Path cacheDir, EventRecorder events, boolean allowPrivateUrls, boolean impersonate,
      NixJail.Limits flakeLimits) {
    this.client = client;
    this.events = events;
    this.allowPrivateUrls = allowPrivateUrls;
    this.impersonate = impersonate;
    this.commits = new CommitReader(cacheDir, flakeLimits, allowPrivateUrls);
  }

  /**
   * The client a GitRepository's objects are read, applied and pruned with: it impersonates
   * {@code system:gitops:NAMESPACE:NAME}, which holds only what RBAC gives it, never the
   * controllers' own rights.
   */
  private KubernetesClient as(GitRepository repo) {
    if (!impersonate) {
      return client;
    }
    return identities.computeIfAbsent(ObjectKey.of(repo), k -> {
      RequestConfig rc = new RequestConfigBuilder(client.getConfiguration().getRequestConfig()).build();
      rc.setImpersonateUsername(Identities.gitRepository(k.namespace(), k.name()));
      rc.setImpersonateGroups(Identities.gitRepositoryGroups(k.namespace()).toArray(String[]::new));
      return client.newClient(rc).adapt(KubernetesClient.class);
    });
  }

  // ---- sync ----

  /**
   * A sync's first step: fetch, read the commit, list what the server holds, plan. A commit in force
   * is checked for drift (and corrected under {@code Correct}) and ends {@link SyncResult.Applied};
   * a new one is dry-run whole and ends {@link SyncResult.Validated} for {@link #apply}. Null when
   * interrupted.
   */
  SyncResult prepare(GitRepository repo, String why) {
    String handled = annotation(repo, GitSync.REQUESTED_AT, repo.getStatus() == null ? null : repo.getStatus().lastHandledRequest());
    try {
      return prepare(repo, why, handled);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return null;
    } catch (RuntimeException e) {
      return failed(repo, null, "SyncFailed", "syncing failed: " + e, handled);
    }
  }

  private SyncResult prepare(GitRepository repo, String why, String handled) throws InterruptedException {
    ObjectKey key = ObjectKey.of(repo);
    GitRepositorySpec spec = repo.getSpec();
    String refused = GitUrls.refusal(spec.url(), allowPrivateUrls);
    if (refused != null) {
      return failed(repo, null, "URLRefused", refused, handled);
    }
    GitSource source;
    String commit;
    try {
      source = commits.source(key);
      commit = source.fetch(spec.url(), spec.ref(), GitCredentials.read(as(repo), repo));
    } catch (GitSource.FetchException e) {
      return failed(repo, null, e.reason(), "fetching " + spec.url() + " failed: " + e.getMessage(), handled);
    } catch (GitCredentials.SecretMissing e) {
      return failed(repo, null, e.reason, e.getMessage(), handled);
    } catch (RuntimeException e) {
      return failed(repo, null, "FetchFailed", "fetching " + spec.url() + " failed: " + e, handled);
    }
    String ref = spec.ref() == null ? "main" : spec.ref();
    String path = spec.path() == null ? "." : spec.path();
    Manifests.Parsed manifests;
    try {
      Optional<Manifests.Parsed> read = commits.read(key, source, commit, path, spec.flake());
      if (read.isEmpty()) {
        return failed(repo, commit, "PathNotFound", "commit " + commit + " has no folder \"" + path + "\"", handled);
      }
      manifests = read.get();
    } catch (IOException | IllegalArgumentException | FlakeResources.EvalException e) {
      return failed(repo, commit, "ValidationFailed", "commit " + commit + ": " + e.getMessage(), handled);
    }
    if (!manifests.errors().isEmpty()) {
      return failed(repo, commit, "ValidationFailed", "commit " + commit + ": " + summary(manifests.errors()), handled);
    }
    GitRepositoryStatus s = repo.getStatus();
    SyncPlan.Served served = new Kinds(client).served(manifests.manifests(), s == null ? null : s.inventory());
    SyncPlan.Resolved resolved = SyncPlan.resolve(repo, manifests.manifests(), served);
    if (!resolved.errors().isEmpty()) {
      return failed(repo, commit, "ValidationFailed", "commit " + commit + ": " + summary(resolved.errors()), handled);
    }
    AppliedSet previous = lastApplied.get(key);
    Map<String, String> applied = previous != null && s != null && previous.commit().equals(s.lastAppliedCommit()) ? previous.configs() : Map.of();
    SyncPlan.Live live = live(repo, SyncPlan.reads(repo, commit, resolved.desired(), applied, served));
    SyncPlan plan = SyncPlan.plan(repo, commit, resolved.desired(), served, live, applied);
    if (plan.mode() == SyncPlan.Mode.CHECK) {
      return carryOut(repo, commit, ref, plan, List.of(), handled);
    }
    // a new commit or a new spec: what is to be applied is validated whole before any of it is
    KubernetesClient identity = as(repo);
    List<ServerSideApply.Attempt> dry = applier.apply(identity, plan.apply(), true, true);
    List<String> errors = new ArrayList<>();
    boolean forbidden = false;
    for (int i = 0; i < dry.size(); i++) {
      if (dry.get(i).failed()) {
        errors.add(plan.apply().get(i).desired().manifest().where() + ": " + dry.get(i).error());
        forbidden |= dry.get(i).code() == 403;
      }
    }
    if (!errors.isEmpty()) {
      // nothing of the commit is applied: a denied object fails it whole
      return failed(repo, commit, forbidden ? "Forbidden" : "ValidationFailed", "commit " + commit + ": " + summary(errors), handled);
    }
    log.info("{}: applying {}@{} ({} of {} objects to apply, {} to prune, {})", key, ref, commit.substring(0, 12), plan.apply().size(),
        plan.desired().size(), plan.prune().size(), why);
    return new SyncResult.Validated(repo.getMetadata().getGeneration(), handled, commit, ref, plan, dry);
  }

  /** A sync's second step: the commit passed its dry run and the status holds both inventories; apply it, prune. */
  SyncResult apply(GitRepository repo, SyncResult.Validated v) {
    try {
      return carryOut(repo, v.commit(), v.ref(), v.plan(), v.dryRun(), v.handled());
    } catch (RuntimeException e) {
      return failed(repo, v.commit(), "SyncFailed", "syncing failed: " + e, v.handled());
    }
  }

  /**
   * Applies and prunes as {@code plan} says. {@code dryRun}: the server's answers to its dry run, which tell
   * created from configured (empty for the commit in force, whose plan knows from the objects as listed).
   */
  private SyncResult carryOut(GitRepository repo, String commit, String ref, SyncPlan plan, List<ServerSideApply.Attempt> dryRun, String handled) {
    ObjectKey key = ObjectKey.of(repo);
    boolean correcting = repo.getSpec().correctsDrift();
    boolean check = plan.mode() == SyncPlan.Mode.CHECK;
    KubernetesClient identity = as(repo);
    List<ServerSideApply.Attempt> applied = applier.apply(identity, plan.apply(), false, correcting);
    List<String> changes = new ArrayList<>();
    List<String> drifted = new ArrayList<>(plan.drifted());
    List<EventSpec> events = new ArrayList<>();
    int created = 0;
    int updated = 0;
    int unchanged = plan.unchanged().size();
    for (int i = 0; i < applied.size(); i++) {
      SyncPlan.Change c = plan.apply().get(i);
      ServerSideApply.Attempt result = applied.get(i);
      if (result.failed()) {
        String error = result.error();
        if (!check && !correcting && error != null && error.contains("conflict")) {
          drifted.add(c.display() + " " + error);
          continue;
        }
        return failed(repo, commit, "ApplyFailed", (check ? "correcting drift: " : "commit " + commit + ": ") + c.desired().manifest().where()
            + ": " + error, handled);
      }
      // the commit in force knows from the objects as listed; a new one from what its dry run answered
      String before = check ? (c.verb() == SyncPlan.Verb.CREATE ? "" : "listed") : dryRun.get(i).version();
      if (before.isEmpty()) {
        created++;
        changes.add(c.display() + " created");
      } else if (check || !before.equals(result.version())) {
        updated++;
        changes.add(c.display() + " configured");
      } else {
        unchanged++;
      }
    }
    int pruned = prune(repo, plan.prune(), plan.kept(), new Kinds(client), events, changes);
    if (check && !plan.apply().isEmpty()) {
      log.info("{}: corrected drift in {} objects: {}", key, plan.apply().size(), drifted);
      events.add(EventSpec.normal("DriftCorrected", "put back what git sets: " + String.join("; ", drifted)));
    } else if (check && !drifted.isEmpty()) {
      events.add(EventSpec.warning("DriftDetected", "changed outside git: " + String.join("; ", drifted)));
    }
    if (!check || pruned > 0) {
      events.add(EventSpec.normal("Synced", "applied " + ref + "@" + commit.substring(0, 12) + ": " + created + " created, " + updated
          + " configured, " + unchanged + " unchanged, " + pruned + " pruned"));
      log.info("{}: applied {}@{}: {} created, {} configured, {} unchanged, {} pruned", key, ref, commit.substring(0, 12), created,
          updated, unchanged, pruned);
    }
    if (!check || correcting || drifted.isEmpty()) {
      remember(key, commit, plan.desired());
    }
    CommitBuilds.ensure(client, repo, commit);
    return new SyncResult.Applied(repo.getMetadata().getGeneration(), handled, commit, ref, plan.inventory(),
        new GitSync.Outcome(commit, created, updated, unchanged, pruned, changes), drifted, correcting, events);
  }

  /** What a commit's objects were applied as: the next commit applies only what differs from them. */
  private record AppliedSet(String commit, Map<String, String> configs) {}

  private final Map<ObjectKey, AppliedSet> lastApplied = new ConcurrentHashMap<>();

  private void remember(ObjectKey key, String commit, List<SyncPlan.Desired> desired) {
    Map<String, String> configs = new HashMap<>();
    desired.forEach(d -> configs.put(SyncPlan.id(d.entry()), d.config().toString()));
    lastApplied.put(key, new AppliedSet(commit, configs));
  }

  // ---- finalize ----

  /** The GitRepository is going: delete what it applied (when it prunes), then release it. */
  void finalizeRepo(GitRepository repo, boolean prune) {
    ObjectKey key = ObjectKey.of(repo);
    if (prune && repo.getStatus() != null && repo.getStatus().inventory() != null) {
      List<InventoryEntry> all = GitSync.prunable(repo.getStatus().inventory(), List.of());
      Kinds kinds = new Kinds(client);
      SyncPlan.Served served = kinds.served(List.of(), all);
      SyncPlan.Live live = live(repo, SyncPlan.readsOfInventory(repo, served));
      List<InventoryEntry> gone = new ArrayList<>();
      List<SyncPlan.Kept> kept = new ArrayList<>();
      SyncPlan.prunes(repo, all, served, live, gone, kept);
      List<EventSpec> events = new ArrayList<>();
      int pruned = prune(repo, gone, kept, kinds, events, new ArrayList<>());
      events.forEach(e -> this.events.record(repo, e.type(), e.reason(), e.note()));
      log.info("{}: deleted, pruned the {} objects it applied", key, pruned);
    }
    identities.remove(key); // shares the controllers' connections: nothing to close
    commits.forget(key);
    lastApplied.remove(key);
    client.resources(GitRepository.class).inNamespace(key.namespace()).withName(key.name()).edit(r -> {
      r.getMetadata().getFinalizers().remove(GitSync.FINALIZER);
      return r;
    });
  }

  // ---- the objects ----

  /**
   * What {@code reads} asks for, read as the repository's identity: a scope's objects by name, or,
   * for many, one list of those carrying this GitRepository's labels (its identity may well read only
   * the namespaces it writes to). A refused read is noted, not thrown.
   */
  private SyncPlan.Live live(GitRepository repo, Map<SyncPlan.Scope, SyncPlan.Read> reads) {
    Map<String, JsonNode> out = new HashMap<>();
    Set<SyncPlan.Scope> refused = new HashSet<>();
    KubernetesClient identity = as(repo);
    for (var e : reads.entrySet()) {
      ResourceDefinitionContext rc = e.getValue().resource();
      var op = identity.genericKubernetesResources(rc);
      var in = e.getKey().namespace() != null ? op.inNamespace(e.getKey().namespace()) : op;
      try {
        List<GenericKubernetesResource> found = new ArrayList<>();
        if (e.getValue().names() == null) {
          found.addAll(in.withLabel(GitSync.LABEL_NAME, repo.getMetadata().getName())
              .withLabel(GitSync.LABEL_NAMESPACE, repo.getMetadata().getNamespace()).list().getItems());
        } else {
          for (String name : e.getValue().names()) {
            GenericKubernetesResource r = in.withName(name).get();
            if (r != null) {
              found.add(r);
            }
          }
        }
        for (GenericKubernetesResource r : found) {
          out.put(SyncPlan.id(GitSync.entry(r.getApiVersion(), rc.getKind(), r.getMetadata().getNamespace(), r.getMetadata().getName())),
              JSON.valueToTree(r));
        }
      } catch (KubernetesClientException denied) {
        if (denied.getCode() != 403) {
          throw denied;
        }
        refused.add(e.getKey());
      }
    }
    return new SyncPlan.Live(out, refused);
  }

  /**
   * Deletes {@code gone} (each listed with this GitRepository's labels just before) and says why {@code kept}
   * stays; a delete or a read its identity may not make is left, with a PruneForbidden event. Returns how many
   * were deleted.
   */
  private int prune(GitRepository repo, List<InventoryEntry> gone, List<SyncPlan.Kept> kept, Kinds kinds, List<EventSpec> events,
      List<String> changes) {
    for (SyncPlan.Kept k : kept) {
      if (k.forbidden()) {
        events.add(pruneForbidden(k.entry(), k.why()));
      } else {
        log.info("{}: not pruning {}: {}", ObjectKey.of(repo), k.entry(), k.why());
      }
    }
    int pruned = 0;
    for (InventoryEntry e : gone) {
      ResourceDefinitionContext rc = kinds.ofGroup(e.group(), e.kind()).orElseThrow();
      var op = as(repo).genericKubernetesResources(rc);
      var res = e.namespace() == null || !rc.isNamespaceScoped() ? op.withName(e.name()) : op.inNamespace(e.namespace()).withName(e.name());
      try {
        if (!res.withPropagationPolicy(DeletionPropagation.BACKGROUND).delete().isEmpty()) {
          pruned++;
          changes.add(e.kind().toLowerCase(java.util.Locale.ROOT) + "/" + e.name() + " pruned");
        }
      } catch (KubernetesClientException denied) {
        if (denied.getCode() != 403) {
          throw denied;
        }
        events.add(pruneForbidden(e, denied.getStatus().getMessage()));
      }
    }
    return pruned;
  }

  /** The one way a prune the repository's identity may not make is said: it is left. */
  private static EventSpec pruneForbidden(InventoryEntry e, String why) {
    return EventSpec.warning("PruneForbidden", "not pruning " + e.kind() + " " + e.name() + ": " + why);
  }

  // ---- results ----

  private static SyncResult failed(GitRepository repo, String commit, String reason, String message, String handled) {
    log.info("{}: {}: {}", ObjectKey.of(repo), reason, message);
    return new SyncResult.Failed(repo.getMetadata().getGeneration(), handled, commit, reason, message);
  }

  private static String summary(List<String> errors) {
    String first = String.join("; ", errors.size() > 5 ? errors.subList(0, 5) : errors);
    return errors.size() > 5 ? first + "; and " + (errors.size() - 5) + " more" : first;
  }

  private static String annotation(GitRepository repo, String key, String otherwise) {
    Map<String, String> a = repo.getMetadata().getAnnotations();
    return a != null && a.containsKey(key) ? a.get(key) : otherwise;
  }

  @Override
  public void close() {
    applier.close();
    commits.close();
  }
}
