package dev.procurator.apiserver.authz;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.procurator.apiserver.auth.UserInfo;
import dev.procurator.apiserver.registry.Admission;
import dev.procurator.apiserver.registry.ApiException;
import dev.procurator.apiserver.resource.ResourceRegistry;
import dev.procurator.apiserver.resource.ResourceType;
import dev.procurator.apiserver.storage.Storage;
import dev.procurator.apiserver.watch.ObjectIndex;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ScheduledExecutorService;

/**
 * The authorizer chain of one server, over in-memory indexes of the objects it decides on:
 * {@code system:masters} may do anything; a node is decided by {@link NodeAuthorizer}; everyone
 * else by RBAC. Secrets in {@value #SYSTEM_NAMESPACE} (issued tokens, join tokens, which hold
 * only hashes) are written by cluster admins alone, whatever RBAC says. With RBAC off every authenticated user may do
 * anything, as Kubernetes' {@code AlwaysAllow}. Thread-safe.
 */
public final class Authorization implements AutoCloseable {
  public static final String MASTERS = "system:masters";
  public static final String SYSTEM_NAMESPACE = "procurator-system";
  private static final String RBAC_GROUP = "rbac.authorization.k8s.io";

  /** What the node authorizer needs of a VM and of a Build. */
  private record VmRef(String namespace, String node, Set<String> secrets) {}

  private record BuildRef(String namespace, String node, String repository, String cacheSecret) {}

  private final boolean rbac;
  private final List<ObjectIndex<?>> indexes = new ArrayList<>();
  private ObjectIndex<JsonNode> clusterRoles;
  private ObjectIndex<JsonNode> roles;
  private ObjectIndex<JsonNode> clusterRoleBindings;
  private ObjectIndex<JsonNode> roleBindings;
  private ObjectIndex<VmRef> vms;
  private ObjectIndex<BuildRef> builds;
  private ResourceType binaryCacheType;
  private ResourceType vmType;
  private ResourceType buildType;
  private ResourceType roleType;
  private ResourceType clusterRoleType;
  private volatile RbacPolicy policy = RbacPolicy.EMPTY;
  private Storage storage;
  private final NodeAuthorizer.Graph graph = new Graph();

  private volatile dev.procurator.apiserver.auth.NodeCertificates certificates;

  public Authorization(boolean rbac) {
    this.rbac = rbac;
  }

  /** Signs node certificates as their CertificateSigningRequests are created. */
  public Authorization withNodeCertificates(dev.procurator.apiserver.auth.NodeCertificates c) {
    this.certificates = c;
    return this;
  }

  private static boolean csrCreate(Attributes a) {
    return a.isResourceRequest() && "certificates.k8s.io".equals(a.apiGroup()) && "certificatesigningrequests".equals(a.resource())
        && a.subresource() == null && "create".equals(a.verb());
  }

  /** Lists and follows the RBAC objects, VMs and Builds in {@code storage}; returns once all are listed. */
  public Authorization start(Storage storage, ResourceRegistry registry, ScheduledExecutorService scheduler) {
    this.storage = storage;
    clusterRoleType = type(registry, RBAC_GROUP, "clusterroles");
    roleType = type(registry, RBAC_GROUP, "roles");
    vmType = type(registry, "procurator.dev", "vms");
    buildType = type(registry, "procurator.dev", "builds");
    clusterRoles = index(storage, clusterRoleType, scheduler, o -> o);
    roles = index(storage, roleType, scheduler, o -> o);
    clusterRoleBindings = index(storage, type(registry, RBAC_GROUP, "clusterrolebindings"), scheduler, o -> o);
    roleBindings = index(storage, type(registry, RBAC_GROUP, "rolebindings"), scheduler, o -> o);
    vms = index(storage, vmType, scheduler, Authorization::vmRef);
    builds = index(storage, buildType, scheduler, Authorization::buildRef);
    binaryCacheType = type(registry, "procurator.dev", "binarycaches");
    for (var i : List.of(clusterRoles, roles, clusterRoleBindings, roleBindings)) {
      i.onChange(this::rebuild);
    }
    for (ObjectIndex<?> i : indexes) {
      i.start();
    }
    rebuild();
    return this;
  }

  private static VmRef vmRef(ObjectNode o) {
    Set<String> secrets = new java.util.HashSet<>();
    o.path("spec").path("secrets").forEach(s -> secrets.add(s.path("name").asText()));
    return new VmRef(o.path("metadata").path("namespace").asText(), o.path("spec").path("nodeName").asText(null), Set.copyOf(secrets));
  }

  private static BuildRef buildRef(ObjectNode o) {
    return new BuildRef(o.path("metadata").path("namespace").asText(), o.path("status").path("nodeName").asText(null),
        o.path("spec").path("source").path("gitRepository").asText(null), o.path("spec").path("cacheSecretRef").path("name").asText(null));
  }

  /**
   * The object at {@code key} as stored now, projected: the indexes follow storage a moment
   * behind, so a node that was just given a VM or Build, and asks at once, is checked against
   * storage itself before it is refused.
   */
  private <T> T fresh(String key, java.util.function.Function<ObjectNode, T> projection) {
    return storage.get(key).map(kv -> projection.apply(dev.procurator.apiserver.registry.Codec.decode(kv))).orElse(null);
  }

  private static ResourceType type(ResourceRegistry registry, String group, String plural) {
    return registry.all().stream().filter(t -> t.group().equals(group) && t.plural().equals(plural)).findFirst()
        .orElseThrow(() -> new IllegalStateException("no " + plural + "." + group + " in the registry"));
  }

  private <T> ObjectIndex<T> index(Storage storage, ResourceType type, ScheduledExecutorService scheduler,
      java.util.function.Function<ObjectNode, T> projection) {
    ObjectIndex<T> i = new ObjectIndex<>(storage, type.keyPrefix(null), projection, scheduler);
    indexes.add(i);
    return i;
  }

  private void rebuild() {
    if (clusterRoles == null || roleBindings == null) {
      return;
    }
    policy = RbacPolicy.of(clusterRoles.values(), roles.values(), clusterRoleBindings.values(), roleBindings.values());
  }

  public boolean rbac() {
    return rbac;
  }

  public RbacPolicy policy() {
    return policy;
  }

  /** The decision for one request. */
  public Decision authorize(Attributes a) {
    UserInfo user = a.user();
    if (user.groups().contains(MASTERS)) {
      return Decision.allow("cluster admin");
    }
    if (user.groups().contains(dev.procurator.apiserver.auth.IssuedTokens.BOOTSTRAPPERS)) {
      // a join token is good for one thing: asking for a node's certificate
      return csrCreate(a) ? Decision.allow("node join") : Decision.deny(a.denial() + ": a join token may only create a CertificateSigningRequest");
    }
    if (!rbac) {
      return Decision.allow("authorization is off");
    }
    boolean secrets = a.isResourceRequest() && "procurator.dev".equals(a.apiGroup()) && "secrets".equals(a.resource());
    if (secrets && (SYSTEM_NAMESPACE.equals(a.namespace()) || a.namespace() == null) && !List.of("get", "list", "watch").contains(a.verb())) {
      // issued and join tokens live there: writing one would mint a credential
      return Decision.deny(a.denial() + ": Secrets in " + SYSTEM_NAMESPACE + " are written by cluster admins only");
    }
    Decision node = NodeAuthorizer.decide(a, graph);
    if (node.kind() != Decision.Kind.NO_OPINION) {
      return node;
    }
    return policy.allows(a) ? Decision.allow("RBAC") : Decision.deny(a.denial());
  }

  /** Every rule that lets {@code user} act in {@code namespace}, as SelfSubjectRulesReview reports them. */
  public List<Rule> rulesFor(UserInfo user, String namespace) {
    if (user.groups().contains(MASTERS) || !rbac) {
      return DefaultRoles.clusterRoles().getFirst().rules();
    }
    return policy.rulesFor(user, namespace);
  }

  /**
   * The check of what a write is about to store, for a request {@link #authorize} allowed: RBAC
   * objects may grant only what their writer holds (or may {@code escalate}/{@code bind}), and a
   * node may change only itself. Null when nothing needs checking.
   */
  public Admission admission(Attributes a) {
    Admission rest = restrictions(a);
    if (!"procurator.dev".equals(a.apiGroup()) || !"builds".equals(a.resource()) || storage == null) {
      return rest;
    }
    return (type, old, object) -> {
      BuildAdmission.admit(a.user(), a.namespace(), type, old, object, this::registeredCaches, this::authorize);
      if (rest != null) {
        rest.admit(type, old, object);
      }
    };
  }

  /** The URLs of the registered BinaryCaches, read from storage (a Build names a cache rarely; one just registered counts at once). */
  private java.util.Collection<String> registeredCaches() {
    return storage.list(binaryCacheType.keyPrefix(null), null, 0, 0).items().stream()
        .map(kv -> dev.procurator.apiserver.registry.Codec.decode(kv).path("spec").path("url").asText("")).toList();
  }

  /** The checks of who writes: node restriction, RBAC escalation, node certificates. */
  private Admission restrictions(Attributes a) {
    UserInfo user = a.user();
    var c = certificates;
    if (c != null && csrCreate(a)) {
      return c.admission(user);
    }
    if (user.groups().contains(MASTERS) || !rbac) {
      return null;
    }
    String node = NodeAuthorizer.nodeName(user);
    if (node != null) {
      return (type, old, object) -> {
        String why = NodeRestriction.check(node, type.group(), type.plural(), old, object);
        if (why != null) {
          throw ApiException.forbidden(type.qualifiedResource() + " \"" + object.path("metadata").path("name").asText() + "\" is forbidden: " + why);
        }
      };
    }
    if (!RBAC_GROUP.equals(a.apiGroup()) || a.resource() == null) {
      return null;
    }
    return (type, old, object) -> checkEscalation(a, type, object);
  }

  private void checkEscalation(Attributes a, ResourceType type, ObjectNode object) {
    UserInfo user = a.user();
    RbacPolicy p = policy;
    String namespace = type.namespaced() ? object.path("metadata").path("namespace").asText(a.namespace()) : null;
    String name = object.path("metadata").path("name").asText();
    List<Rule> held = p.rulesFor(user, namespace);
    switch (type.plural()) {
      case "roles", "clusterroles" -> {
        if (p.allows(Attributes.resource(user, "escalate", RBAC_GROUP, type.plural(), null, namespace, name))) {
          return;
        }
        List<Rule> wanted = new ArrayList<>();
        object.path("rules").forEach(r -> wanted.add(Rule.of(r)));
        List<Rule> missing = RbacPolicy.uncovered(held, wanted);
        if (!missing.isEmpty()) {
          throw ApiException.forbidden(type.qualifiedResource() + " \"" + name + "\" is forbidden: user \"" + user.name()
              + "\" is attempting to grant RBAC permissions not currently held: " + describe(missing));
        }
      }
      case "rolebindings", "clusterrolebindings" -> {
        JsonNode ref = object.path("roleRef");
        String kind = ref.path("kind").asText();
        String role = ref.path("name").asText();
        String rolePlural = kind.equals("ClusterRole") ? "clusterroles" : "roles";
        if (p.allows(Attributes.resource(user, "bind", RBAC_GROUP, rolePlural, null, kind.equals("ClusterRole") ? null : namespace, role))
            || (namespace != null && p.allows(Attributes.resource(user, "bind", RBAC_GROUP, rolePlural, null, namespace, role)))) {
          return;
        }
        List<Rule> granted = p.role(kind, namespace, role);
        boolean exists = kind.equals("ClusterRole") ? clusterRoles.get(clusterRoleType.key(null, role)) != null
            : roles.get(roleType.key(namespace, role)) != null;
        if (!exists) {
          throw ApiException.forbidden(type.qualifiedResource() + " \"" + name + "\" is forbidden: " + kind + " \"" + role
              + "\" does not exist, and user \"" + user.name() + "\" may not bind it");
        }
        List<Rule> missing = RbacPolicy.uncovered(held, granted);
        if (!missing.isEmpty()) {
          throw ApiException.forbidden(type.qualifiedResource() + " \"" + name + "\" is forbidden: user \"" + user.name()
              + "\" may not bind " + kind + " \"" + role + "\": it grants permissions the user does not hold: " + describe(missing));
        }
      }
      default -> { }
    }
  }

  private static String describe(List<Rule> rules) {
    List<String> out = new ArrayList<>();
    for (Rule r : rules.subList(0, Math.min(5, rules.size()))) {
      out.add(r.nonResourceURLs().isEmpty()
          ? "{APIGroups:" + r.apiGroups() + ", Resources:" + r.resources() + (r.resourceNames().isEmpty() ? "" : ", ResourceNames:" + r.resourceNames())
              + ", Verbs:" + r.verbs() + "}"
          : "{NonResourceURLs:" + r.nonResourceURLs() + ", Verbs:" + r.verbs() + "}");
    }
    return String.join(", ", out) + (rules.size() > 5 ? " and " + (rules.size() - 5) + " more" : "");
  }

  /** What is bound where, from the indexes. */
  private final class Graph implements NodeAuthorizer.Graph {
    @Override
    public boolean vmBoundTo(String node, String namespace, String name) {
      return name != null && on(node, vms, vmType.key(namespace, name), Authorization::vmRef, VmRef::node);
    }

    @Override
    public boolean buildOn(String node, String namespace, String name) {
      return name != null && on(node, builds, buildType.key(namespace, name), Authorization::buildRef, BuildRef::node);
    }

    /** Whether the object at {@code key} is on {@code node}: by the index, else by storage itself. */
    private <T> boolean on(String node, ObjectIndex<T> index, String key, java.util.function.Function<ObjectNode, T> projection,
        java.util.function.Function<T, String> nodeOf) {
      T t = index.get(key);
      if (t == null || !node.equals(nodeOf.apply(t))) {
        t = fresh(key, projection);
      }
      return t != null && node.equals(nodeOf.apply(t));
    }

    @Override
    public boolean secretUsedBy(String node, String namespace, String name) {
      if (name == null) {
        return false;
      }
      for (VmRef v : vms.values()) {
        if (node.equals(v.node()) && namespace.equals(v.namespace()) && v.secrets().contains(name)) {
          return true;
        }
      }
      for (BuildRef b : builds.values()) {
        if (node.equals(b.node()) && namespace.equals(b.namespace()) && name.equals(b.cacheSecret())) {
          return true;
        }
      }
      return false;
    }

    @Override
    public boolean repositoryUsedBy(String node, String namespace, String name) {
      for (BuildRef b : builds.values()) {
        if (node.equals(b.node()) && namespace.equals(b.namespace()) && name != null && name.equals(b.repository())) {
          return true;
        }
      }
      return false;
    }
  }

  @Override
  public void close() {
    indexes.forEach(ObjectIndex::close);
  }
}
