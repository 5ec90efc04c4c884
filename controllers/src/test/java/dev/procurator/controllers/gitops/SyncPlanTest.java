package dev.procurator.controllers.gitops;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.procurator.api.fields.FieldManager;
import dev.procurator.api.v1alpha1.GitRepository;
import dev.procurator.api.v1alpha1.GitRepositorySpec;
import dev.procurator.api.v1alpha1.GitRepositoryStatus;
import dev.procurator.api.v1alpha1.GitRepositoryStatus.InventoryEntry;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.client.dsl.base.ResourceDefinitionContext;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.function.UnaryOperator;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The plan of a sync, from the inventory in status, the commit's manifests and the objects as
 * listed: what is applied, left, reported as drifted and pruned. Each row is one situation
 * Given (status, git, server) → Then (the plan).
 */
class SyncPlanTest {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final String IN_FORCE = "1111111111111111111111111111111111111111";
  private static final String NEW = "2222222222222222222222222222222222222222";
  private static final ResourceDefinitionContext VM = new ResourceDefinitionContext.Builder().withGroup("procurator.dev")
      .withVersion("v1alpha1").withKind("VM").withPlural("vms").withNamespaced(true).build();
  private static final ResourceDefinitionContext NAMESPACE = new ResourceDefinitionContext.Builder().withGroup("").withVersion("v1")
      .withKind("Namespace").withPlural("namespaces").withNamespaced(false).build();
  private static final ResourceDefinitionContext ROLE = new ResourceDefinitionContext.Builder().withGroup("rbac.authorization.k8s.io")
      .withVersion("v1").withKind("Role").withPlural("roles").withNamespaced(true).build();
  private static final SyncPlan.Served SERVED = new SyncPlan.Served(
      Map.of("procurator.dev/v1alpha1|VM", VM, "v1|Namespace", NAMESPACE, "rbac.authorization.k8s.io/v1|Role", ROLE),
      Map.of("procurator.dev|VM", VM, "|Namespace", NAMESPACE, "rbac.authorization.k8s.io|Role", ROLE));

  /** A VM manifest as git holds it. */
  static Manifests.Manifest vm(String name, int cpu, String namespace) {
    String ns = namespace == null ? "" : ",'namespace':'" + namespace + "'";
    return manifest("{'apiVersion':'procurator.dev/v1alpha1','kind':'VM','metadata':{'name':'" + name + "'" + ns + "},"
        + "'spec':{'cpu':" + cpu + "},'status':{'phase':'Running'}}");
  }

  static Manifests.Manifest manifest(String json) {
    try {
      ObjectNode o = (ObjectNode) JSON.readTree(json.replace('\'', '"'));
      return new Manifests.Manifest(o.path("metadata").path("name").asText() + ".yaml", 1, o);
    } catch (java.io.IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }

  /** A desired object for {@code e} (a VM), for tests that need only its identity. */
  static SyncPlan.Desired desired(InventoryEntry e) {
    Manifests.Manifest m = vm(e.name(), 1, e.namespace());
    return new SyncPlan.Desired(m, m.object(), VM, e.namespace(), e);
  }

  static InventoryEntry entry(String kind, String namespace, String name) {
    String apiVersion = switch (kind) {
      case "VM" -> "procurator.dev/v1alpha1";
      case "Role" -> "rbac.authorization.k8s.io/v1";
      default -> "v1";
    };
    return GitSync.entry(apiVersion, kind, namespace, name);
  }

  /** The repository {@code fleet} in {@code team}, with {@code inventory} applied at {@link #IN_FORCE}. */
  static GitRepository repo(UnaryOperator<GitRepositorySpec> spec, List<InventoryEntry> inventory) {
    GitRepository r = new GitRepository();
    r.setMetadata(new ObjectMetaBuilder().withName("fleet").withNamespace("team").withGeneration(1L).build());
    r.setSpec(spec.apply(new GitRepositorySpec("https://git.example.org/fleet.git", "main", ".", 60, true)));
    if (inventory != null) {
      r.setStatus(new GitRepositoryStatus(1L, IN_FORCE, IN_FORCE, inventory, List.of(), null, null, "2026-12-03T08:00:00Z"));
    }
    return r;
  }

  /** The server's copy of {@code m} as this repository applied it (resolved into {@code ns}), owned by its field manager. */
  static ObjectNode applied(Manifests.Manifest m, String ns) {
    ObjectNode config = SyncPlan.resolve(repo(s -> s, null), List.of(m), SERVED).desired().getFirst().config();
    ObjectNode live = FieldManager.apply(null, config, GitSync.MANAGER, false, "2026-12-03T08:00:00Z").object();
    ((ObjectNode) live.get("metadata")).put("resourceVersion", "7").put("namespace", ns);
    ((ObjectNode) live.get("spec")).put("restartPolicy", "Always"); // a server default: never drift
    return live;
  }

  /** {@code live} with {@code spec.cpu} set by someone else ({@code kubectl edit}). */
  static ObjectNode edited(ObjectNode live, int cpu) {
    ObjectNode e = live.deepCopy();
    ((ObjectNode) e.get("spec")).put("cpu", cpu);
    ((ObjectNode) e.get("metadata")).set("managedFields", FieldManager.update(live, e, "kubectl-edit", true, "2026-12-03T08:01:00Z", "v1"));
    return e;
  }

  /** {@code live} as another GitRepository of the same namespace labels it. */
  static ObjectNode relabelled(ObjectNode live, String repository) {
    ObjectNode o = live.deepCopy();
    ((ObjectNode) o.get("metadata").get("labels")).put(GitSync.LABEL_NAME, repository);
    return o;
  }

  /** What the server holds, as listed; {@code refused}: the lists the repository's identity may not read. */
  record Server(Map<InventoryEntry, JsonNode> objects, Set<SyncPlan.Scope> refused) {
    static Server of(Object... entryAndObject) {
      Map<InventoryEntry, JsonNode> m = new LinkedHashMap<>();
      for (int i = 0; i < entryAndObject.length; i += 2) {
        m.put((InventoryEntry) entryAndObject[i], (JsonNode) entryAndObject[i + 1]);
      }
      return new Server(m, Set.of());
    }

    Server refusing(SyncPlan.Scope s) {
      Set<SyncPlan.Scope> r = new HashSet<>(refused);
      r.add(s);
      return new Server(objects, r);
    }

    SyncPlan.Live live() {
      Map<String, JsonNode> byId = new HashMap<>();
      objects.forEach((e, o) -> byId.put(SyncPlan.id(e), o));
      return new SyncPlan.Live(byId, refused);
    }
  }

  /** The plan's answer in words: each object with what happens to it, in order. */
  static List<String> outcome(SyncPlan p) {
    List<String> out = new ArrayList<>();
    p.apply().forEach(c -> out.add(c.display() + " " + c.verb().name().toLowerCase(Locale.ROOT)));
    p.unchanged().forEach(d -> out.add(d.display() + " unchanged"));
    p.drifted().forEach(d -> out.add("drifted: " + d));
    p.prune().forEach(e -> out.add(e.kind().toLowerCase(Locale.ROOT) + "/" + e.name() + " pruned"));
    p.kept().forEach(k -> out.add(k.entry().kind().toLowerCase(Locale.ROOT) + "/" + k.entry().name() + " kept" + (k.forbidden()
        ? " (forbidden)" : "")));
    return out;
  }

  private static final InventoryEntry A = entry("VM", "team", "a");
  private static final InventoryEntry B = entry("VM", "team", "b");
  private static final Manifests.Manifest A1 = vm("a", 1, null);
  private static final Manifests.Manifest B1 = vm("b", 1, null);

  static Stream<Arguments> plans() {
    UnaryOperator<GitRepositorySpec> plain = s -> s;
    UnaryOperator<GitRepositorySpec> detect = s -> s.withDriftPolicy(GitRepositorySpec.DriftPolicy.DETECT);
    UnaryOperator<GitRepositorySpec> noPrune = s -> new GitRepositorySpec(s.url(), s.ref(), s.path(), 60, false);
    ObjectNode a = applied(A1, "team");
    ObjectNode b = applied(B1, "team");
    Map<String, String> asApplied = Map.of(SyncPlan.id(A), SyncPlan.resolve(repo(plain, null), List.of(A1), SERVED).desired().getFirst()
        .config().toString());
    return Stream.of(
        Arguments.of("a new repository creates everything", repo(plain, null), NEW, List.of(A1, B1), Server.of(), Map.of(),
            SyncPlan.Mode.APPLY, List.of("vm/a create", "vm/b create")),
        Arguments.of("the commit in force, as git sets it: nothing to do", repo(plain, List.of(A, B)), IN_FORCE, List.of(A1, B1),
            Server.of(A, a, B, b), Map.of(), SyncPlan.Mode.CHECK, List.of("vm/a unchanged", "vm/b unchanged")),
        Arguments.of("the commit in force, edited outside git: put back", repo(plain, List.of(A)), IN_FORCE, List.of(A1),
            Server.of(A, edited(a, 4)), Map.of(), SyncPlan.Mode.CHECK, List.of("vm/a update", "drifted: vm/a .spec.cpu")),
        Arguments.of("the commit in force, edited, under Detect: reported, left", repo(detect, List.of(A)), IN_FORCE, List.of(A1),
            Server.of(A, edited(a, 4)), Map.of(), SyncPlan.Mode.CHECK, List.of("vm/a unchanged", "drifted: vm/a .spec.cpu")),
        Arguments.of("the commit in force, deleted outside git: made again", repo(plain, List.of(A)), IN_FORCE, List.of(A1), Server.of(),
            Map.of(), SyncPlan.Mode.CHECK, List.of("vm/a create", "drifted: vm/a (deleted)")),
        Arguments.of("a new commit changes a and drops b: a applied, b pruned", repo(plain, List.of(A, B)), NEW, List.of(vm("a", 2, null)),
            Server.of(A, a, B, b), asApplied, SyncPlan.Mode.APPLY, List.of("vm/a update", "vm/b pruned")),
        Arguments.of("a new commit leaves a as the commit in force applied it", repo(plain, List.of(A)), NEW, List.of(A1, B1),
            Server.of(A, a), asApplied, SyncPlan.Mode.APPLY, List.of("vm/b create", "vm/a unchanged")),
        Arguments.of("after a restart nothing is known as applied: applied again", repo(plain, List.of(A)), NEW, List.of(A1),
            Server.of(A, a), Map.of(), SyncPlan.Mode.APPLY, List.of("vm/a update")),
        Arguments.of("pruning off: what git dropped stays", repo(noPrune, List.of(A, B)), NEW, List.of(A1), Server.of(A, a, B, b),
            asApplied, SyncPlan.Mode.APPLY, List.of("vm/a unchanged")),
        Arguments.of("dropped, but no longer labelled as this repository's (or gone): kept", repo(plain, List.of(A, B)), NEW, List.of(A1),
            Server.of(A, a), asApplied, SyncPlan.Mode.APPLY, List.of("vm/a unchanged", "vm/b kept")),
        Arguments.of("dropped, now carrying another repository's labels: kept", repo(plain, List.of(A, B)), NEW, List.of(A1),
            Server.of(A, a, B, relabelled(b, "other-fleet")), asApplied, SyncPlan.Mode.APPLY, List.of("vm/a unchanged", "vm/b kept")),
        Arguments.of("in git, but made by someone else: taken over", repo(plain, null), NEW, List.of(A1),
            Server.of(A, relabelled(a, "other-fleet")), Map.of(), SyncPlan.Mode.APPLY, List.of("vm/a update")),
        Arguments.of("the commit in force, its object relabelled by another repository: drift, put back", repo(plain, List.of(A)),
            IN_FORCE, List.of(A1), Server.of(A, relabelled(a, "other-fleet")), Map.of(), SyncPlan.Mode.CHECK,
            List.of("vm/a update", "drifted: vm/a (deleted)")),
        Arguments.of("dropped where its identity may not list: kept, forbidden", repo(plain, List.of(A, entry("VM", "other", "c"))), NEW,
            List.of(A1), Server.of(A, a).refusing(new SyncPlan.Scope("procurator.dev", "VM", "other")), asApplied, SyncPlan.Mode.APPLY,
            List.of("vm/a unchanged", "vm/c kept (forbidden)")),
        Arguments.of("a kind the server no longer serves: kept", repo(plain, List.of(A, entry("Gadget", "team", "g"))), NEW, List.of(A1),
            Server.of(A, a), asApplied, SyncPlan.Mode.APPLY, List.of("vm/a unchanged", "gadget/g kept")),
        Arguments.of("a new commit into a namespace its identity may not list: left to the dry run", repo(plain, null), NEW,
            List.of(vm("x", 1, "other")), Server.of().refusing(new SyncPlan.Scope("procurator.dev", "VM", "other")), Map.of(),
            SyncPlan.Mode.APPLY, List.of("vm/x create")),
        Arguments.of("a changed spec applies the same commit again", specChanged(repo(plain, List.of(A))), IN_FORCE, List.of(A1),
            Server.of(A, a), Map.of(), SyncPlan.Mode.APPLY, List.of("vm/a update")));
  }

  private static GitRepository specChanged(GitRepository r) {
    r.getMetadata().setGeneration(2L);
    return r;
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("plans")
  void plans(String name, GitRepository repo, String commit, List<Manifests.Manifest> git, Server server, Map<String, String> applied,
      SyncPlan.Mode mode, List<String> expected) {
    SyncPlan.Resolved resolved = SyncPlan.resolve(repo, git, SERVED);
    assertThat(resolved.errors()).isEmpty();
    SyncPlan plan = SyncPlan.plan(repo, commit, resolved.desired(), SERVED, server.live(), applied);
    assertThat(plan.mode()).isEqualTo(mode);
    assertThat(outcome(plan)).containsExactlyElementsOf(expected);
    assertThat(plan.inventory()).isEqualTo(resolved.desired().stream().map(SyncPlan.Desired::entry).toList());
  }

  @Test
  void namespacesComeFromTheManifestElseTheTargetElseTheRepositoryAndNeverForAClusterScopedKind() {
    var ns = manifest("{'apiVersion':'v1','kind':'Namespace','metadata':{'name':'prod','namespace':'ignored'}}");
    List<Manifests.Manifest> git = List.of(vm("a", 1, null), vm("b", 1, "elsewhere"), ns);
    List<SyncPlan.Desired> plain = SyncPlan.resolve(repo(s -> s, null), git, SERVED).desired();
    assertThat(plain).extracting(d -> d.entry().toString()).containsExactly("Namespace/prod", "VM.procurator.dev/team/a",
        "VM.procurator.dev/elsewhere/b");
    assertThat(plain.getFirst().config().path("metadata").has("namespace")).isFalse();
    List<SyncPlan.Desired> targeted = SyncPlan.resolve(repo(s -> s.withTargetNamespace("prod"), null), git, SERVED).desired();
    assertThat(targeted).extracting(SyncPlan.Desired::namespace).containsExactly(null, "prod", "elsewhere");
    assertThat(targeted.get(1).config().path("metadata").path("namespace").asText()).isEqualTo("prod");
  }

  @Test
  void whatIsAppliedCarriesTheRepositorysLabelsAndNothingTheServerSets() {
    ObjectNode config = SyncPlan.resolve(repo(s -> s, null), List.of(vm("a", 1, null)), SERVED).desired().getFirst().config();
    assertThat(config.path("metadata").path("labels").path(GitSync.LABEL_NAME).asText()).isEqualTo("fleet");
    assertThat(config.path("metadata").path("labels").path(GitSync.LABEL_NAMESPACE).asText()).isEqualTo("team");
    assertThat(config.has("status")).isFalse();
  }

  @Test
  void aKindTheServerDoesNotServeIsAnErrorNamingTheFile() {
    var gadget = manifest("{'apiVersion':'example.org/v1','kind':'Gadget','metadata':{'name':'g'}}");
    assertThat(SyncPlan.resolve(repo(s -> s, null), List.of(gadget), SERVED).errors())
        .containsExactly("g.yaml, document 1: the server serves no kind \"Gadget\" in \"example.org/v1\"");
  }

  @Test
  void aNewCommitReadsWhatItAppliesAndWhatGitDroppedAndTheCommitInForceReadsAllOfIt() {
    GitRepository r = repo(s -> s, List.of(A, entry("Role", "team", "r"), entry("VM", "other", "c")));
    List<SyncPlan.Desired> desired = SyncPlan.resolve(r, List.of(A1, vm("b", 1, "team")), SERVED).desired();
    Map<String, String> asApplied = Map.of(SyncPlan.id(A), desired.getFirst().config().toString());
    assertThat(SyncPlan.reads(r, NEW, desired, asApplied, SERVED)).containsExactly(
        Map.entry(new SyncPlan.Scope("procurator.dev", "VM", "team"), new SyncPlan.Read(VM, Set.of("b"))),
        Map.entry(new SyncPlan.Scope("procurator.dev", "VM", "other"), new SyncPlan.Read(VM, Set.of("c"))),
        Map.entry(new SyncPlan.Scope("rbac.authorization.k8s.io", "Role", "team"), new SyncPlan.Read(ROLE, Set.of("r"))));
    assertThat(SyncPlan.reads(r, IN_FORCE, desired, asApplied, SERVED).get(new SyncPlan.Scope("procurator.dev", "VM", "team")).names())
        .containsExactlyInAnyOrder("a", "b");
  }

  @Test
  void manyObjectsInOneScopeAreListedByLabelNotReadOneByOne() {
    List<Manifests.Manifest> git = new ArrayList<>();
    for (int i = 0; i <= SyncPlan.LIST_ABOVE; i++) {
      git.add(vm("vm-" + i, 1, null));
    }
    GitRepository r = repo(s -> s, null);
    var reads = SyncPlan.reads(r, NEW, SyncPlan.resolve(r, git, SERVED).desired(), Map.of(), SERVED);
    assertThat(reads.get(new SyncPlan.Scope("procurator.dev", "VM", "team")).names()).as("a list").isNull();
  }
}
