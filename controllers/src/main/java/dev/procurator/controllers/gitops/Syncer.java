package dev.procurator.controllers.gitops;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.procurator.api.runtime.EventRecorder;
import dev.procurator.api.runtime.ObjectKey;
import dev.procurator.api.runtime.StatusWriter;
import dev.procurator.api.v1alpha1.Cluster;
import dev.procurator.api.v1alpha1.GitRepository;
import dev.procurator.api.v1alpha1.GitRepositorySpec;
import dev.procurator.api.v1alpha1.GitRepositoryStatus;
import dev.procurator.api.v1alpha1.GitRepositoryStatus.InventoryEntry;
import dev.procurator.api.v1alpha1.Identities;
import dev.procurator.api.v1alpha1.Secret;
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
import java.time.Clock;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One sync of a GitRepository, the slow part of its loop: fetch, read the commit, validate every
 * object with a server-side dry run, apply them with server-side apply as {@link GitSync#MANAGER},
 * prune, and write the status. Runs off the controller's workers; one at a time per GitRepository.
 */
final class Syncer implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(Syncer.class);
  private static final ObjectMapper JSON = new ObjectMapper();
  /** Requests in flight at once during a dry run or an apply. */
  private static final int PARALLEL = 16;

  private final KubernetesClient client;
  private final Path cacheDir;
  private final NixJail.Limits flakeLimits;
  private final EventRecorder events;
  private final Clock clock;
  private final ExecutorService requests = Executors.newFixedThreadPool(PARALLEL, Thread.ofVirtual().name("gitops-request-", 0).factory());
  private final Map<ObjectKey, GitSource> sources = new ConcurrentHashMap<>();
  /** Parsed manifests per commit and path: a sync of an unchanged commit reads nothing again. */
  private final Map<ObjectKey, Parsed> parsed = new ConcurrentHashMap<>();

  private record Parsed(String commit, String path, Manifests.Parsed manifests) {}

  /** An object as the controller applies it, with where it came from and where it goes. */
  record Desired(Manifests.Manifest manifest, ObjectNode config, ResourceDefinitionContext resource, String namespace,
      InventoryEntry entry) {
    String display() {
      return manifest.display();
    }
  }

  private final boolean allowPrivateUrls;
  /** Per GitRepository, a client that impersonates its identity (sharing this client's connections). */
  private final Map<ObjectKey, KubernetesClient> identities = new ConcurrentHashMap<>();

  private final boolean impersonate;

  Syncer(KubernetesClient client, Path cacheDir, EventRecorder events, Clock clock, boolean allowPrivateUrls) {
    this(client, cacheDir, events, clock, allowPrivateUrls, true);
  }

  /** {@code impersonate} false: with the controllers' own rights, only for measuring what impersonation costs. */
  Syncer(KubernetesClient client, Path cacheDir, EventRecorder events, Clock clock, boolean allowPrivateUrls, boolean impersonate) {
    this(client, cacheDir, events, clock, allowPrivateUrls, impersonate, NixJail.Limits.DEFAULT);
  }

  /** {@code flakeLimits}: how long and in how much memory a {@code source: Flake} commit may evaluate. */
  Syncer(KubernetesClient client, Path cacheDir, EventRecorder events, Clock clock, boolean allowPrivateUrls, boolean impersonate,
      NixJail.Limits flakeLimits) {
    this.flakeLimits = flakeLimits;
    this.client = client;
    this.cacheDir = cacheDir;
    this.events = events;
    this.clock = clock;
    this.allowPrivateUrls = allowPrivateUrls;
    this.impersonate = impersonate;
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

  void sync(GitRepository repo, String why) {
    ObjectKey key = ObjectKey.of(repo);
    GitRepositorySpec spec = repo.getSpec();
    String handled = annotation(repo, GitSync.REQUESTED_AT, repo.getStatus() == null ? null : repo.getStatus().lastHandledRequest());
    String refused = GitUrls.refusal(spec.url(), allowPrivateUrls);
    if (refused != null) {
      fail(repo, null, "URLRefused", refused, handled);
      return;
    }
    GitSource source;
    String commit;
    try {
      source = sources.computeIfAbsent(key, k -> open(k));
      commit = source.fetch(spec.url(), spec.ref(), credentials(repo));
    } catch (GitSource.FetchException e) {
      fail(repo, null, e.reason(), "fetching " + spec.url() + " failed: " + e.getMessage(), handled);
      return;
    } catch (SecretMissing e) {
      fail(repo, null, e.reason, e.getMessage(), handled);
      return;
    } catch (RuntimeException e) {
      fail(repo, null, "FetchFailed", "fetching " + spec.url() + " failed: " + e, handled);
      return;
    }
    String ref = spec.ref() == null ? "main" : spec.ref();
    String path = spec.path() == null ? "." : spec.path();
    Manifests.Parsed manifests;
    try {
      Parsed cached = parsed.get(key);
      if (cached != null && cached.commit().equals(commit) && cached.path().equals(path)) {
        manifests = cached.manifests();
      } else {
        if (!source.hasFolder(commit, path)) {
          fail(repo, commit, "PathNotFound", "commit " + commit + " has no folder \"" + path + "\"", handled);
          return;
        }
        if (spec.flake()) {
          String file = (path.equals(".") ? "" : path.replaceAll("/$", "") + "/") + "flake.nix#" + FlakeResources.ATTRIBUTE;
          source.pin(commit);
          byte[] list = FlakeResources.eval(source.dir(), commit, path, cacheDir.resolve(".nix").resolve(key.namespace()).resolve(key.name()),
              flakeLimits, allowPrivateUrls);
          manifests = Manifests.parseFile(new GitSource.File(file, list), true);
        } else {
          manifests = Manifests.combine(source.manifests(commit, path).stream().map(this::parseFile).toList());
        }
        parsed.put(key, new Parsed(commit, path, manifests));
      }
    } catch (IOException | IllegalArgumentException | FlakeResources.EvalException e) {
      fail(repo, commit, "ValidationFailed", "commit " + commit + ": " + e.getMessage(), handled);
      return;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return;
    }
    if (!manifests.errors().isEmpty()) {
      fail(repo, commit, "ValidationFailed", "commit " + commit + ": " + summary(manifests.errors()), handled);
      return;
    }
    Kinds kinds = new Kinds(client);
    List<String> errors = new ArrayList<>();
    List<Desired> desired = desired(repo, manifests.manifests(), kinds, errors);
    if (!errors.isEmpty()) {
      fail(repo, commit, "ValidationFailed", "commit " + commit + ": " + summary(errors), handled);
      return;
    }
    GitRepositoryStatus s = repo.getStatus();
    boolean sameCommit = s != null && commit.equals(s.lastAppliedCommit()) && java.util.Objects.equals(s.observedGeneration(),
        repo.getMetadata().getGeneration());
    List<InventoryEntry> inventory = desired.stream().map(Desired::entry).toList();
    if (sameCommit) {
      check(repo, commit, ref, desired, inventory, handled);
      return;
    }
    // a new commit or a new spec: what changed since the commit in force is validated whole before any of it is
    // applied; what did not change was validated and applied then (and its drift is the interval check's)
    AppliedSet previous = lastApplied.get(key);
    boolean incremental = previous != null && s != null && previous.commit().equals(s.lastAppliedCommit());
    List<Desired> all = desired;
    desired = incremental ? all.stream().filter(d -> !d.config().toString().equals(previous.configs().get(id(d.entry())))).toList() : all;
    int same = all.size() - desired.size();
    KubernetesClient identity = as(repo);
    List<Attempt> dry = run(desired, d -> apply(identity, d, true, true));
    boolean forbidden = false;
    for (int i = 0; i < desired.size(); i++) {
      if (dry.get(i).failed()) {
        errors.add(desired.get(i).manifest().where() + ": " + dry.get(i).error());
        forbidden |= dry.get(i).code() == 403;
      }
    }
    if (!errors.isEmpty()) {
      // nothing of the commit is applied: a denied object fails it whole
      fail(repo, commit, forbidden ? "Forbidden" : "ValidationFailed", "commit " + commit + ": " + summary(errors), handled);
      return;
    }
    log.info("{}: applying {}@{} ({} of {} objects changed, {})", key, ref, commit.substring(0, 12), desired.size(), all.size(), why);
    List<InventoryEntry> before = s == null || s.inventory() == null ? List.of() : s.inventory();
    repo = StatusWriter.write(client, repo, GitSync.applying(repo, commit, ref, GitSync.union(before, inventory), clock.instant()));
    boolean correcting = spec.correctsDrift();
    List<Attempt> applied = run(desired, d -> apply(identity, d, false, correcting));
    List<String> changes = new ArrayList<>();
    List<String> drifted = new ArrayList<>();
    int created = 0;
    int updated = 0;
    int unchanged = same;
    for (int i = 0; i < desired.size(); i++) {
      Desired d = desired.get(i);
      Attempt result = applied.get(i);
      if (result.failed()) {
        String error = result.error();
        if (!correcting && error != null && error.contains("conflict")) {
          drifted.add(d.display() + " " + error);
          continue;
        }
        fail(repo, commit, "ApplyFailed", "commit " + commit + ": " + d.manifest().where() + ": " + error, handled);
        return;
      }
      String rvBefore = dry.get(i).object().path("metadata").path("resourceVersion").asText("");
      String rvAfter = result.object().path("metadata").path("resourceVersion").asText("");
      if (rvBefore.isEmpty()) {
        created++;
        changes.add(d.display() + " created");
      } else if (!rvBefore.equals(rvAfter)) {
        updated++;
        changes.add(d.display() + " configured");
      } else {
        unchanged++;
      }
    }
    int pruned = 0;
    if (spec.pruning()) {
      for (InventoryEntry gone : GitSync.prunable(before, inventory)) {
        if (prune(repo, kinds, gone)) {
          pruned++;
          changes.add(gone.kind().toLowerCase(java.util.Locale.ROOT) + "/" + gone.name() + " pruned");
        }
      }
    }
    var outcome = new GitSync.Outcome(commit, created, updated, unchanged, pruned, changes);
    repo = StatusWriter.write(client, repo, GitSync.applied(repo, commit, ref, inventory, outcome, drifted, correcting, handled, clock.instant()));
    remember(key, commit, all);
    CommitBuilds.ensure(client, repo, commit);
    events.normal(repo, "Synced", "applied " + ref + "@" + commit.substring(0, 12) + ": " + created + " created, " + updated + " configured, "
        + unchanged + " unchanged, " + pruned + " pruned");
    log.info("{}: applied {}@{}: {} created, {} configured, {} unchanged, {} pruned", key, ref, commit.substring(0, 12), created,
        updated, unchanged, pruned);
  }

  /** The commit is in force already: look for drift, and put back what git sets under {@code Correct}. */
  private void check(GitRepository repo, String commit, String ref, List<Desired> desired, List<InventoryEntry> inventory, String handled) {
    Map<String, JsonNode> live = live(repo, desired);
    List<String> drifted = new ArrayList<>();
    List<Desired> toFix = new ArrayList<>();
    for (Desired d : desired) {
      List<String> fields = GitSync.drift(d.config(), live.get(id(d.entry())));
      if (!fields.isEmpty()) {
        drifted.add(d.display() + " " + String.join(", ", fields));
        toFix.add(d);
      }
    }
    boolean correcting = repo.getSpec().correctsDrift();
    List<String> changes = new ArrayList<>();
    int created = 0;
    int updated = 0;
    if (correcting && !toFix.isEmpty()) {
      KubernetesClient identity = as(repo);
      List<Attempt> fixed = run(toFix, d -> apply(identity, d, false, true));
      for (int i = 0; i < toFix.size(); i++) {
        Desired d = toFix.get(i);
        if (fixed.get(i).failed()) {
          fail(repo, commit, "ApplyFailed", "correcting drift: " + d.manifest().where() + ": " + fixed.get(i).error(), handled);
          return;
        }
        if (live.get(id(d.entry())) == null) {
          created++;
          changes.add(d.display() + " created");
        } else {
          updated++;
          changes.add(d.display() + " configured");
        }
      }
      log.info("{}: corrected drift in {} objects: {}", ObjectKey.of(repo), toFix.size(), drifted);
      events.normal(repo, "DriftCorrected", "put back what git sets: " + String.join("; ", drifted));
    } else if (!drifted.isEmpty()) {
      events.warning(repo, "DriftDetected", "changed outside git: " + String.join("; ", drifted));
    }
    var outcome = new GitSync.Outcome(commit, created, updated, desired.size() - created - updated, 0, changes);
    repo = StatusWriter.write(client, repo, GitSync.applied(repo, commit, ref, inventory, outcome, drifted, correcting, handled, clock.instant()));
    if (correcting || drifted.isEmpty()) {
      remember(ObjectKey.of(repo), commit, desired);
    }
    CommitBuilds.ensure(client, repo, commit);
  }

  /** What a commit's objects were applied as: the next commit applies only what differs from them. */
  private record AppliedSet(String commit, Map<String, String> configs) {}

  private final Map<ObjectKey, AppliedSet> lastApplied = new ConcurrentHashMap<>();

  private void remember(ObjectKey key, String commit, List<Desired> desired) {
    Map<String, String> configs = new HashMap<>();
    desired.forEach(d -> configs.put(id(d.entry()), d.config().toString()));
    lastApplied.put(key, new AppliedSet(commit, configs));
  }

  /** A file's documents, read once per blob: a new commit parses only the files it changed. */
  private Manifests.Parsed parseFile(GitSource.File f) {
    if (f.blob() == null) {
      return Manifests.parseFile(f);
    }
    String k = f.blob() + "\u0000" + f.path();
    synchronized (byBlob) {
      Manifests.Parsed p = byBlob.get(k);
      if (p != null) {
        return p;
      }
    }
    Manifests.Parsed p = Manifests.parseFile(f);
    synchronized (byBlob) {
      byBlob.put(k, p);
    }
    return p;
  }

  private final Map<String, Manifests.Parsed> byBlob = new java.util.LinkedHashMap<>(1024, 0.75f, true) {
    @Override
    protected boolean removeEldestEntry(Map.Entry<String, Manifests.Parsed> eldest) {
      return size() > 50_000;
    }
  };

  // ---- finalize ----

  /** The GitRepository is going: delete what it applied (when it prunes), then release it. */
  void finalizeRepo(GitRepository repo, boolean prune) {
    ObjectKey key = ObjectKey.of(repo);
    if (prune && repo.getStatus() != null && repo.getStatus().inventory() != null) {
      Kinds kinds = new Kinds(client);
      List<InventoryEntry> all = new ArrayList<>(repo.getStatus().inventory());
      java.util.Collections.reverse(all);
      int pruned = 0;
      for (InventoryEntry e : all) {
        if (prune(repo, kinds, e)) {
          pruned++;
        }
      }
      log.info("{}: deleted, pruned the {} objects it applied", key, pruned);
    }
    identities.remove(key); // shares the controllers' connections: nothing to close
    GitSource s = sources.remove(key);
    if (s != null) {
      s.close();
    }
    parsed.remove(key);
    lastApplied.remove(key);
    client.resources(GitRepository.class).inNamespace(key.namespace()).withName(key.name()).edit(r -> {
      r.getMetadata().getFinalizers().remove(GitSync.FINALIZER);
      return r;
    });
  }

  // ---- the objects ----

  private List<Desired> desired(GitRepository repo, List<Manifests.Manifest> manifests, Kinds kinds, List<String> errors) {
    String ns = repo.getMetadata().getNamespace();
    String target = repo.getSpec().targetNamespace() != null ? repo.getSpec().targetNamespace() : ns;
    List<Desired> out = new ArrayList<>();
    List<Desired> namespaces = new ArrayList<>();
    for (Manifests.Manifest m : manifests) {
      Optional<ResourceDefinitionContext> resource = kinds.of(m.apiVersion(), m.kind());
      if (resource.isEmpty()) {
        errors.add(m.where() + ": the server serves no kind \"" + m.kind() + "\" in \"" + m.apiVersion() + "\"");
        continue;
      }
      ObjectNode config = m.object().deepCopy();
      ObjectNode meta = (ObjectNode) config.get("metadata");
      meta.remove(List.of("resourceVersion", "uid", "creationTimestamp", "managedFields", "generation"));
      config.remove("status");
      ObjectNode labels = meta.has("labels") && meta.get("labels").isObject() ? (ObjectNode) meta.get("labels") : meta.putObject("labels");
      labels.put(GitSync.LABEL_NAME, repo.getMetadata().getName());
      labels.put(GitSync.LABEL_NAMESPACE, ns);
      String objectNs = null;
      if (resource.get().isNamespaceScoped()) {
        objectNs = meta.path("namespace").asText("").isEmpty() ? target : meta.get("namespace").asText();
        meta.put("namespace", objectNs);
      } else {
        meta.remove("namespace");
      }
      if (repo.getSpec().build() != null && repo.getSpec().build().deploy() != null && m.kind().equals("Cluster")
          && repo.getSpec().build().deploy().cluster().equals(m.name()) && objectNs != null) {
        Cluster live = client.resources(Cluster.class).inNamespace(objectNs).withName(m.name()).get();
        CommitBuilds.keepDeployedBoot(repo, config, live == null ? null : JSON.valueToTree(live));
      }
      Desired d = new Desired(m, config, resource.get(), objectNs, GitSync.entry(m.apiVersion(), m.kind(), objectNs, m.name()));
      (m.kind().equals("Namespace") ? namespaces : out).add(d);
    }
    namespaces.addAll(out); // namespaces first, as kubectl orders them
    return namespaces;
  }

  /** What the server answered to one apply: the object, or its message. */
  record Attempt(ObjectNode object, String error, int code) {
    boolean failed() {
      return object == null;
    }
  }

  /** Applies (or dry-runs) one object as {@code as}, the repository's identity. */
  private Attempt apply(KubernetesClient as, Desired d, boolean dryRun, boolean force) {
    try {
      GenericKubernetesResource r = as.getKubernetesSerialization().convertValue(d.config(), GenericKubernetesResource.class);
      var op = as.genericKubernetesResources(d.resource());
      var resource = d.namespace() == null ? op.resource(r) : op.inNamespace(d.namespace()).resource(r);
      var apply = resource.dryRun(dryRun).fieldManager(GitSync.MANAGER);
      GenericKubernetesResource out = (force ? apply.forceConflicts() : apply).serverSideApply();
      return new Attempt(JSON.valueToTree(out), null, 200);
    } catch (KubernetesClientException e) {
      String message = e.getStatus() != null && e.getStatus().getMessage() != null ? e.getStatus().getMessage() : e.getMessage();
      return new Attempt(null, message, e.getCode());
    }
  }

  /** Runs {@code work} over {@code items}, {@link #PARALLEL} at a time, answers in their order. */
  private <T> List<Attempt> run(List<T> items, java.util.function.Function<T, Attempt> work) {
    List<Future<Attempt>> futures = new ArrayList<>(items.size());
    for (T item : items) {
      futures.add(requests.submit(() -> work.apply(item)));
    }
    List<Attempt> out = new ArrayList<>(items.size());
    for (Future<Attempt> f : futures) {
      try {
        out.add(f.get());
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IllegalStateException("interrupted", e);
      } catch (java.util.concurrent.ExecutionException e) {
        throw new IllegalStateException(e.getCause());
      }
    }
    return out;
  }

  /** The objects this GitRepository labelled, as the server has them, by {@link #id}. */
  private Map<String, JsonNode> live(GitRepository repo, List<Desired> desired) {
    // one list per kind and namespace: the repository's identity may well read only the namespaces it writes to
    Map<String, Desired> lists = new LinkedHashMap<>();
    for (Desired d : desired) {
      lists.putIfAbsent(d.resource().getGroup() + "/" + d.resource().getKind() + "/" + d.namespace(), d);
    }
    Map<String, JsonNode> out = new HashMap<>();
    KubernetesClient identity = as(repo);
    for (Desired d : lists.values()) {
      ResourceDefinitionContext rc = d.resource();
      var op = identity.genericKubernetesResources(rc);
      var selected = (d.namespace() != null ? op.inNamespace(d.namespace()) : op).withLabel(GitSync.LABEL_NAME, repo.getMetadata().getName())
          .withLabel(GitSync.LABEL_NAMESPACE, repo.getMetadata().getNamespace());
      for (GenericKubernetesResource r : selected.list().getItems()) {
        out.put(id(GitSync.entry(r.getApiVersion(), rc.getKind(), r.getMetadata().getNamespace(), r.getMetadata().getName())),
            JSON.valueToTree(r));
      }
    }
    return out;
  }

  private static String id(InventoryEntry e) {
    return e.group() + "/" + e.kind() + "/" + (e.namespace() == null ? "" : e.namespace()) + "/" + e.name();
  }

  /** Deletes {@code e} if it still carries this GitRepository's labels; true if it was there to delete. */
  private boolean prune(GitRepository repo, Kinds kinds, InventoryEntry e) {
    Optional<ResourceDefinitionContext> rc = kinds.ofGroup(e.group(), e.kind());
    if (rc.isEmpty()) {
      log.warn("{}: cannot prune {}: the server no longer serves its kind", ObjectKey.of(repo), e);
      return false;
    }
    var op = as(repo).genericKubernetesResources(rc.get());
    var res = e.namespace() == null || !rc.get().isNamespaceScoped() ? op.withName(e.name()) : op.inNamespace(e.namespace()).withName(e.name());
    try {
      GenericKubernetesResource live = res.get();
      if (live == null) {
        return false;
      }
      if (!GitSync.ownedBy(JSON.valueToTree(live), repo.getMetadata().getNamespace(), repo.getMetadata().getName())) {
        log.info("{}: not pruning {}: it no longer carries this GitRepository's labels", ObjectKey.of(repo), e);
        return false;
      }
      res.withPropagationPolicy(DeletionPropagation.BACKGROUND).delete();
    } catch (KubernetesClientException denied) {
      if (denied.getCode() != 403) {
        throw denied;
      }
      // the repository's identity may not read or delete it: say so, and leave it
      events.warning(repo, "PruneForbidden", "not pruning " + e.kind() + " " + e.name() + ": " + denied.getStatus().getMessage());
      return false;
    }
    return true;
  }

  // ---- credentials ----

  private static final class SecretMissing extends Exception {
    final String reason;

    SecretMissing(String message) {
      this("SecretNotFound", message);
    }

    SecretMissing(String reason, String message) {
      super(message);
      this.reason = reason;
    }
  }

  /**
   * The remote's credentials from secretRef ({@code username}/{@code password}), and the CA its
   * HTTPS certificate is signed by ({@code ca.crt}), trusted for that remote only.
   */
  private GitSource.Credentials credentials(GitRepository repo) throws SecretMissing {
    GitRepositorySpec.SecretRef ref = repo.getSpec().secretRef();
    String url = repo.getSpec().url();
    boolean https = url.startsWith("https://");
    if (ref == null) {
      trust(url, https, null);
      return null;
    }
    // read as the repository's identity: the Secret is used only if that identity may get it
    Secret secret;
    try {
      secret = as(repo).resources(Secret.class).inNamespace(repo.getMetadata().getNamespace()).withName(ref.name()).get();
    } catch (KubernetesClientException e) {
      if (e.getCode() != 403) {
        throw e;
      }
      String who = Identities.gitRepository(repo.getMetadata().getNamespace(), repo.getMetadata().getName());
      throw new SecretMissing("SecretForbidden", "secretRef names Secret \"" + ref.name() + "\", which " + who
          + " may not get; an admin grants it with a Role allowing get on secrets.procurator.dev named " + ref.name()
          + ", bound to that user");
    }
    if (secret == null || secret.getSpec() == null) {
      throw new SecretMissing("secretRef names Secret \"" + ref.name() + "\", which does not exist in namespace "
          + repo.getMetadata().getNamespace());
    }
    trust(url, https, secret.getSpec().text("ca.crt").orElse(null));
    Optional<String> user = secret.getSpec().text("username");
    Optional<String> password = secret.getSpec().text("password");
    if (user.isEmpty() && password.isEmpty()) {
      return null; // a CA alone: a public repository behind a private CA
    }
    if (user.isEmpty() || password.isEmpty()) {
      throw new SecretMissing("Secret \"" + ref.name() + "\" must hold both username and password for an HTTPS remote");
    }
    return new GitSource.Credentials(user.get(), password.get());
  }

  private static void trust(String url, boolean https, String caPem) throws SecretMissing {
    if (!https) {
      return;
    }
    try {
      GitTls.trust(url, caPem);
    } catch (java.security.GeneralSecurityException | IOException e) {
      throw new SecretMissing("the secret's ca.crt cannot be used: " + e.getMessage());
    }
  }

  // ---- status ----

  private void fail(GitRepository repo, String commit, String reason, String message, String handled) {
    log.info("{}: {}: {}", ObjectKey.of(repo), reason, message);
    GitRepositoryStatus before = repo.getStatus();
    GitRepository written = StatusWriter.write(client, repo, GitSync.failed(repo, commit, reason, message, handled, clock.instant()));
    if (written.getStatus() != before) {
      events.warning(repo, reason, message);
    }
  }

  private static String summary(List<String> errors) {
    String first = String.join("; ", errors.size() > 5 ? errors.subList(0, 5) : errors);
    return errors.size() > 5 ? first + "; and " + (errors.size() - 5) + " more" : first;
  }

  private static String annotation(GitRepository repo, String key, String otherwise) {
    Map<String, String> a = repo.getMetadata().getAnnotations();
    return a != null && a.containsKey(key) ? a.get(key) : otherwise;
  }

  private GitSource open(ObjectKey key) {
    try {
      return new GitSource(cacheDir.resolve(key.namespace()).resolve(key.name() + ".git"));
    } catch (IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }

  @Override
  public void close() {
    requests.shutdownNow();
    sources.values().forEach(GitSource::close);
    sources.clear();
  }
}
