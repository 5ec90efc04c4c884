package dev.procurator.controllers.gitops;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.procurator.api.v1alpha1.GitRepository;
import dev.procurator.api.v1alpha1.GitRepositoryStatus;
import dev.procurator.api.v1alpha1.GitRepositoryStatus.InventoryEntry;
import io.fabric8.kubernetes.client.dsl.base.ResourceDefinitionContext;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;

/**
 * What one sync of a GitRepository does, worked out from the inventory in its status, the commit's
 * manifests and the objects as the server holds them; no I/O. {@link Syncer} reads what a plan
 * needs ({@link #reads}), asks for it ({@link #plan}) and carries it out.
 *
 * @param mode {@link Mode#APPLY} for a commit or spec not yet in force, {@link Mode#CHECK} for the one in force
 * @param desired every object of the commit as the controller applies it, namespaces first: the new inventory
 * @param apply what is applied (and, for {@link Mode#APPLY}, dry-run first): changed since the commit in force,
 *     missing, unknown, or drifted under {@code driftPolicy: Correct}
 * @param unchanged what is left as it is
 * @param drifted the objects whose fields git sets were changed outside git, with those fields ({@code vm/web .spec.cpu})
 * @param prune what git dropped that is to be deleted: in the inventory, still labelled as this repository's
 * @param kept what git dropped that is left, and why
 */
record SyncPlan(Mode mode, List<Desired> desired, List<Change> apply, List<Desired> unchanged, List<String> drifted,
    List<InventoryEntry> prune, List<Kept> kept) {

  enum Mode { APPLY, CHECK }

  enum Verb { CREATE, UPDATE }

  /** An object to apply, and whether the server has it yet (as listed; {@code CREATE} when its list was refused). */
  record Change(Desired desired, Verb verb) {
    String display() {
      return desired.display();
    }
  }

  /** Something git dropped that is not pruned; {@code forbidden}: the repository's identity may not read it. */
  record Kept(InventoryEntry entry, String why, boolean forbidden) {}

  /** An object as the controller applies it, with where it came from and where it goes. */
  record Desired(Manifests.Manifest manifest, ObjectNode config, ResourceDefinitionContext resource, String namespace,
      InventoryEntry entry) {
    String display() {
      return manifest.display();
    }
  }

  /** One list the plan needs: a kind in a namespace, or everywhere for a cluster-scoped kind (namespace null). */
  record Scope(String group, String kind, String namespace) {
    static Scope of(ResourceDefinitionContext rc, String namespace) {
      return new Scope(rc.getGroup() == null ? "" : rc.getGroup(), rc.getKind(), rc.isNamespaceScoped() ? namespace : null);
    }
  }

  /** What the server serves, read once for this sync: by apiVersion and kind, and by group and kind. */
  record Served(Map<String, ResourceDefinitionContext> byVersion, Map<String, ResourceDefinitionContext> byGroup) {
    Optional<ResourceDefinitionContext> of(String apiVersion, String kind) {
      return Optional.ofNullable(byVersion.get(apiVersion + "|" + kind));
    }

    Optional<ResourceDefinitionContext> ofGroup(String group, String kind) {
      return Optional.ofNullable(byGroup.get((group == null ? "" : group) + "|" + kind));
    }
  }

  /**
   * The objects {@link #reads} asked for, as its identity read them, by {@link #id} (absent: not
   * there, or not among those its labels select); and the scopes that identity may not read.
   */
  record Live(Map<String, JsonNode> objects, Set<Scope> unreadable) {
    JsonNode get(InventoryEntry e) {
      return objects.get(id(e));
    }

    /** The object of {@code e} if it carries the labels of the GitRepository {@code repo}, else null. */
    JsonNode owned(InventoryEntry e, GitRepository repo) {
      JsonNode o = get(e);
      return o != null && GitSync.ownedBy(o, repo.getMetadata().getNamespace(), repo.getMetadata().getName()) ? o : null;
    }

    boolean readable(Scope s) {
      return !unreadable.contains(s);
    }
  }

  /** The manifests as applied: labelled, their namespace set; and what names a kind the server does not serve. */
  record Resolved(List<Desired> desired, List<String> errors) {}

  /** {@code group/kind/namespace/name}: an object's identity in {@link Live} and in what was applied. */
  static String id(InventoryEntry e) {
    return e.group() + "/" + e.kind() + "/" + (e.namespace() == null ? "" : e.namespace()) + "/" + e.name();
  }

  /**
   * The commit's manifests as the controller applies them: server-set metadata and status dropped,
   * this repository's labels added, the namespace set (the manifest's, else {@code
   * spec.targetNamespace}, else the repository's; none for a cluster-scoped kind), namespaces first.
   */
  static Resolved resolve(GitRepository repo, List<Manifests.Manifest> manifests, Served served) {
    String ns = repo.getMetadata().getNamespace();
    String target = repo.getSpec().targetNamespace() != null ? repo.getSpec().targetNamespace() : ns;
    List<Desired> namespaces = new ArrayList<>();
    List<Desired> rest = new ArrayList<>();
    List<String> errors = new ArrayList<>();
    for (Manifests.Manifest m : manifests) {
      Optional<ResourceDefinitionContext> resource = served.of(m.apiVersion(), m.kind());
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
      Desired d = new Desired(m, config, resource.get(), objectNs, GitSync.entry(m.apiVersion(), m.kind(), objectNs, m.name()));
      (m.kind().equals("Namespace") ? namespaces : rest).add(d);
    }
    namespaces.addAll(rest); // namespaces first, as kubectl orders them
    return new Resolved(List.copyOf(namespaces), List.copyOf(errors));
  }

  /** What git dropped since the inventory in status: to prune when {@code spec.prune} is set, in reverse order of application. */
  static List<InventoryEntry> dropped(GitRepository repo, List<Desired> desired) {
    if (!repo.getSpec().pruning()) {
      return List.of();
    }
    GitRepositoryStatus s = repo.getStatus();
    return GitSync.prunable(s == null ? null : s.inventory(), desired.stream().map(Desired::entry).toList());
  }

  /** What a plan reads in one scope: every object this repository labelled there ({@code names} null), or these by name. */
  record Read(ResourceDefinitionContext resource, Set<String> names) {}

  /** More objects than this in one scope are listed by label rather than read one by one. */
  static final int LIST_ABOVE = 16;

  /**
   * What a plan of {@code commit} reads: for the commit in force, every object of it (its drift);
   * for another, the objects to apply (changed since what the commit in force was applied as), the
   * Cluster whose deployed boot is kept; and, either way, what git dropped.
   */
  static Map<Scope, Read> reads(GitRepository repo, String commit, List<Desired> desired, Map<String, String> applied, Served served) {
    boolean inForce = inForce(repo, commit);
    Map<Scope, Map.Entry<ResourceDefinitionContext, Set<String>>> names = new LinkedHashMap<>();
    for (Desired d : desired) {
      if (inForce || !d.config().toString().equals(applied.get(id(d.entry()))) || deploys(repo, d)) {
        names.computeIfAbsent(Scope.of(d.resource(), d.namespace()), k -> Map.entry(d.resource(), new java.util.LinkedHashSet<>()))
            .getValue().add(d.entry().name());
      }
    }
    for (InventoryEntry e : dropped(repo, desired)) {
      served.ofGroup(e.group(), e.kind()).ifPresent(rc -> names.computeIfAbsent(Scope.of(rc, e.namespace()),
          k -> Map.entry(rc, new java.util.LinkedHashSet<>())).getValue().add(e.name()));
    }
    Map<Scope, Read> out = new LinkedHashMap<>();
    names.forEach((scope, n) -> out.put(scope, new Read(n.getKey(), n.getValue().size() > LIST_ABOVE ? null : Set.copyOf(n.getValue()))));
    return out;
  }

  /** What pruning the whole inventory reads (the GitRepository is going). */
  static Map<Scope, Read> readsOfInventory(GitRepository repo, Served served) {
    return reads(repo, "", List.of(), Map.of(), served);
  }

  private static boolean inForce(GitRepository repo, String commit) {
    GitRepositoryStatus s = repo.getStatus();
    return s != null && commit.equals(s.lastAppliedCommit()) && Objects.equals(s.observedGeneration(), repo.getMetadata().getGeneration());
  }

  private static boolean deploys(GitRepository repo, Desired d) {
    var build = repo.getSpec().build();
    return build != null && build.deploy() != null && d.manifest().kind().equals("Cluster") && d.namespace() != null
        && build.deploy().cluster().equals(d.manifest().name());
  }

  /**
   * The plan of a sync of {@code commit}.
   *
   * @param desired {@link #resolve}d manifests of the commit
   * @param live the objects {@link #reads} asks for, as read
   * @param applied what the commit in force was applied as ({@link #id} → config), empty when not known (a
   *     controller that has just started): an object whose manifest it equals and whose fields git sets are as git
   *     sets them is left unchanged
   */
  static SyncPlan plan(GitRepository repo, String commit, List<Desired> desired, Served served, Live live, Map<String, String> applied) {
    boolean inForce = inForce(repo, commit);
    Mode mode = inForce ? Mode.CHECK : Mode.APPLY;
    boolean correcting = repo.getSpec().correctsDrift();
    List<Desired> all = new ArrayList<>(desired.size());
    List<Change> apply = new ArrayList<>();
    List<Desired> unchanged = new ArrayList<>();
    List<String> drifted = new ArrayList<>();
    for (Desired d : desired) {
      d = deploys(repo, d) ? keepDeployedBoot(repo, d, live.get(d.entry())) : d;
      all.add(d);
      if (!inForce && d.config().toString().equals(applied.get(id(d.entry())))) {
        unchanged.add(d); // as the commit in force applied it: its drift is the interval check's
        continue;
      }
      Verb verb = live.get(d.entry()) == null ? Verb.CREATE : Verb.UPDATE;
      JsonNode now = live.owned(d.entry(), repo); // one without this repository's labels is not as git sets it: taken over
      if (!inForce) {
        apply.add(new Change(d, verb));
        continue;
      }
      if (!live.readable(Scope.of(d.resource(), d.namespace()))) {
        unchanged.add(d); // its identity may not read it: its drift cannot be told
        continue;
      }
      List<String> fields = GitSync.drift(d.config(), now);
      if (fields.isEmpty()) {
        unchanged.add(d);
        continue;
      }
      drifted.add(d.display() + " " + String.join(", ", fields));
      if (correcting) {
        apply.add(new Change(d, verb));
      } else {
        unchanged.add(d);
      }
    }
    List<InventoryEntry> prune = new ArrayList<>();
    List<Kept> kept = new ArrayList<>();
    prunes(repo, dropped(repo, all), served, live, prune, kept);
    return new SyncPlan(mode, List.copyOf(all), List.copyOf(apply), List.copyOf(unchanged), List.copyOf(drifted), List.copyOf(prune),
        List.copyOf(kept));
  }

  /** What of {@code gone} is deleted: what the server still serves and still holds with this repository's labels. */
  static void prunes(GitRepository repo, List<InventoryEntry> gone, Served served, Live live, List<InventoryEntry> prune, List<Kept> kept) {
    for (InventoryEntry e : gone) {
      Optional<ResourceDefinitionContext> rc = served.ofGroup(e.group(), e.kind());
      if (rc.isEmpty()) {
        kept.add(new Kept(e, "the server no longer serves its kind", false));
      } else if (!live.readable(Scope.of(rc.get(), e.namespace()))) {
        kept.add(new Kept(e, "its identity may not list " + e.kind() + (e.namespace() == null ? "" : " in " + e.namespace()), true));
      } else if (live.get(e) == null) {
        kept.add(new Kept(e, "gone", false));
      } else if (live.owned(e, repo) == null) {
        kept.add(new Kept(e, "it no longer carries this GitRepository's labels", false));
      } else {
        prune.add(e);
      }
    }
  }

  /** The Cluster that {@code spec.build.deploy} names keeps the boot its Builds deployed ({@link CommitBuilds#keepDeployedBoot}). */
  private static Desired keepDeployedBoot(GitRepository repo, Desired d, JsonNode live) {
    if (live == null) {
      return d;
    }
    ObjectNode config = d.config().deepCopy();
    CommitBuilds.keepDeployedBoot(repo, config, live);
    return new Desired(d.manifest(), config, d.resource(), d.namespace(), d.entry());
  }

  /** The new inventory: every object of the commit. */
  List<InventoryEntry> inventory() {
    return desired.stream().map(Desired::entry).toList();
  }
}
