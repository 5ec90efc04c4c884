package dev.procurator.apiserver.authz;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.List;

/**
 * The ClusterRoles and ClusterRoleBindings every server has, written at start as Kubernetes
 * writes its bootstrap policy: brought back to these rules unless an admin marked one
 * {@code rbac.authorization.kubernetes.io/autoupdate: "false"}.
 *
 * <ul>
 *   <li>{@code admin}: everything.
 *   <li>{@code developer}: every Procurator kind but Nodes; Secrets written but never read; BinaryCaches read, registered by admins;
 *       Events, ControllerRevisions, Namespaces and CRDs read; no RBAC objects.
 *   <li>{@code viewer}: reads of everything but Secrets (and RBAC objects).
 *   <li>{@code system:procurator-controllers}: what the control loops need, bound to the user of
 *       that name: every Procurator kind, Events, Leases and ControllerRevisions; and, for the
 *       garbage collector, reading, updating and deleting objects of every kind (Secrets of
 *       {@code procurator-system} stay out of reach); and impersonation, so that what a loop does for
 *       a user's object it does with that object's identity's rights, not its own.
 *   <li>{@code system:monitoring}: {@code get} on {@code /metrics} and {@code /sd/prometheus} (the
 *       scrape targets), and nothing else: what Prometheus is bound to.
 * </ul>
 */
public final class DefaultRoles {
  private static final ObjectMapper JSON = new ObjectMapper();
  public static final String CONTROLLERS = "system:procurator-controllers";
  public static final String MONITORING = "system:monitoring";
  public static final String AUTOUPDATE = "rbac.authorization.kubernetes.io/autoupdate";
  private static final List<String> READ = List.of("get", "list", "watch");
  private static final List<String> WORKLOADS = List.of("vms", "vms/log", "vms/status", "clusters", "clusters/status", "builds",
      "builds/log", "builds/status", "gitrepositories", "gitrepositories/status");

  private DefaultRoles() {}

  public record Role(String name, List<Rule> rules) {}

  public static List<Role> clusterRoles() {
    return List.of(
        new Role("admin", List.of(Rule.resources(List.of("*"), List.of("*"), List.of("*")), Rule.urls(List.of("*"), List.of("*")))),
        new Role("developer", List.of(
            Rule.resources(List.of("procurator.dev"), WORKLOADS, List.of("*")),
            Rule.resources(List.of("procurator.dev"), List.of("secrets"), List.of("create", "update", "patch", "delete", "deletecollection")),
            Rule.resources(List.of("procurator.dev"), List.of("binarycaches"), READ),
            Rule.resources(List.of("", "events.k8s.io"), List.of("events"), READ),
            Rule.resources(List.of("apps"), List.of("controllerrevisions"), READ),
            Rule.resources(List.of(""), List.of("namespaces"), READ),
            Rule.resources(List.of("apiextensions.k8s.io"), List.of("customresourcedefinitions"), READ))),
        new Role("viewer", List.of(
            Rule.resources(List.of("procurator.dev"), List.of("vms", "vms/log", "clusters", "builds", "builds/log", "gitrepositories",
                "nodes", "binarycaches"), READ),
            Rule.resources(List.of("", "events.k8s.io"), List.of("events"), READ),
            Rule.resources(List.of("apps"), List.of("controllerrevisions"), READ),
            Rule.resources(List.of("coordination.k8s.io"), List.of("leases"), READ),
            Rule.resources(List.of(""), List.of("namespaces"), READ),
            Rule.resources(List.of("apiextensions.k8s.io"), List.of("customresourcedefinitions"), READ))),
        new Role(CONTROLLERS, List.of(
            // the garbage collector follows owners and dependents of every kind, as Kubernetes' does
            Rule.resources(List.of("*"), List.of("*"), List.of("get", "list", "watch", "update", "patch", "delete")),
            Rule.resources(List.of("procurator.dev"), List.of("*"), List.of("*")),
            Rule.resources(List.of("", "events.k8s.io"), List.of("events"), List.of("*")),
            Rule.resources(List.of("apps"), List.of("controllerrevisions"), List.of("*")),
            Rule.resources(List.of("coordination.k8s.io"), List.of("leases"), List.of("*")),
            Rule.resources(List.of(""), List.of("namespaces"), READ),
            // GitOps applies each repository's objects as that repository's own identity
            Rule.resources(List.of(""), List.of("users", "groups"), List.of("impersonate")))),
        new Role(MONITORING, List.of(Rule.urls(List.of("/metrics", "/sd/prometheus"), List.of("get")))));
  }

  /** The objects: every ClusterRole above, and the binding of the controllers' role to their user. */
  public static List<ObjectNode> clusterRoleObjects() {
    return clusterRoles().stream().map(DefaultRoles::object).toList();
  }

  public static ObjectNode controllersBinding() {
    ObjectNode b = JSON.createObjectNode();
    b.put("apiVersion", "rbac.authorization.k8s.io/v1").put("kind", "ClusterRoleBinding");
    meta(b, CONTROLLERS);
    b.putObject("roleRef").put("apiGroup", "rbac.authorization.k8s.io").put("kind", "ClusterRole").put("name", CONTROLLERS);
    b.putArray("subjects").addObject().put("apiGroup", "rbac.authorization.k8s.io").put("kind", "User").put("name", CONTROLLERS);
    return b;
  }

  private static ObjectNode object(Role r) {
    ObjectNode o = JSON.createObjectNode();
    o.put("apiVersion", "rbac.authorization.k8s.io/v1").put("kind", "ClusterRole");
    meta(o, r.name());
    ArrayNode rules = o.putArray("rules");
    for (Rule rule : r.rules()) {
      rules.add(ruleObject(rule));
    }
    return o;
  }

  /** A rule as a PolicyRule object, leaving out empty lists. */
  public static ObjectNode ruleObject(Rule rule) {
    ObjectNode n = JSON.createObjectNode();
    put(n, "verbs", rule.verbs());
    put(n, "apiGroups", rule.apiGroups());
    put(n, "resources", rule.resources());
    put(n, "resourceNames", rule.resourceNames());
    put(n, "nonResourceURLs", rule.nonResourceURLs());
    return n;
  }

  private static void put(ObjectNode n, String field, List<String> values) {
    if (!values.isEmpty() || field.equals("verbs")) {
      ArrayNode a = n.putArray(field);
      values.forEach(a::add);
    }
  }

  private static void meta(ObjectNode o, String name) {
    ObjectNode m = o.putObject("metadata");
    m.put("name", name);
    m.putObject("labels").put("kubernetes.io/bootstrapping", "rbac-defaults");
    m.putObject("annotations").put(AUTOUPDATE, "true");
  }
}
