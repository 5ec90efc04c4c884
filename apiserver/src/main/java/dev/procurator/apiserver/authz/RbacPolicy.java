package dev.procurator.apiserver.authz;

import com.fasterxml.jackson.databind.JsonNode;
import dev.procurator.apiserver.auth.UserInfo;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The RBAC objects at one moment, indexed by subject, and the decisions they give. Immutable and
 * pure: built from Roles, ClusterRoles, RoleBindings and ClusterRoleBindings as stored, so that
 * unit tests drive it with objects written by hand.
 *
 * <p>As in Kubernetes: a ClusterRoleBinding grants its ClusterRole's rules everywhere; a
 * RoleBinding grants its Role's (or a ClusterRole's) rules in its own namespace only; a binding
 * whose role does not exist grants nothing; there are no deny rules.
 */
public final class RbacPolicy {
  /** A binding as it applies: the namespace it grants in (null: everywhere) and its role's rules, resolved lazily. */
  private record Grant(String namespace, String roleKind, String roleName, String bindingNamespace) {}

  private final Map<String, List<Rule>> clusterRoles;
  private final Map<String, List<Rule>> roles; // "ns/name"
  private final Map<String, List<Grant>> grantsBySubject; // "User:bob", "Group:devs"

  private RbacPolicy(Map<String, List<Rule>> clusterRoles, Map<String, List<Rule>> roles, Map<String, List<Grant>> grants) {
    this.clusterRoles = clusterRoles;
    this.roles = roles;
    this.grantsBySubject = grants;
  }

  public static final RbacPolicy EMPTY = new RbacPolicy(Map.of(), Map.of(), Map.of());

  /** The policy these objects state (each collection holds stored objects of that kind). */
  public static RbacPolicy of(Collection<JsonNode> clusterRoles, Collection<JsonNode> roles, Collection<JsonNode> clusterRoleBindings,
      Collection<JsonNode> roleBindings) {
    Map<String, List<Rule>> cr = new HashMap<>();
    for (JsonNode r : clusterRoles) {
      cr.put(r.path("metadata").path("name").asText(), rules(r));
    }
    Map<String, List<Rule>> nr = new HashMap<>();
    for (JsonNode r : roles) {
      nr.put(r.path("metadata").path("namespace").asText() + "/" + r.path("metadata").path("name").asText(), rules(r));
    }
    Map<String, List<Grant>> grants = new HashMap<>();
    for (JsonNode b : clusterRoleBindings) {
      add(grants, b, null);
    }
    for (JsonNode b : roleBindings) {
      add(grants, b, b.path("metadata").path("namespace").asText());
    }
    return new RbacPolicy(cr, nr, grants);
  }

  private static List<Rule> rules(JsonNode role) {
    List<Rule> out = new ArrayList<>();
    role.path("rules").forEach(r -> out.add(Rule.of(r)));
    return List.copyOf(out);
  }

  private static void add(Map<String, List<Grant>> grants, JsonNode binding, String namespace) {
    JsonNode ref = binding.path("roleRef");
    Grant g = new Grant(namespace, ref.path("kind").asText(), ref.path("name").asText(), namespace);
    for (JsonNode s : binding.path("subjects")) {
      String kind = s.path("kind").asText();
      String name = s.path("name").asText();
      String key = switch (kind) {
        case "User" -> "User:" + name;
        case "Group" -> "Group:" + name;
        case "ServiceAccount" -> "User:system:serviceaccount:"
            + (s.path("namespace").asText("").isEmpty() ? (namespace == null ? "" : namespace) : s.path("namespace").asText()) + ":" + name;
        default -> null;
      };
      if (key != null) {
        grants.computeIfAbsent(key, k -> new ArrayList<>()).add(g);
      }
    }
  }

  /** Every rule granted to {@code user} that applies in {@code namespace} (null: cluster-wide grants only). */
  public List<Rule> rulesFor(UserInfo user, String namespace) {
    List<Rule> out = new ArrayList<>();
    for (Grant g : grantsOf(user)) {
      if (g.namespace() == null || g.namespace().equals(namespace)) {
        out.addAll(roleRules(g));
      }
    }
    return out;
  }

  /** Whether some rule granted to the request's user allows it. */
  public boolean allows(Attributes a) {
    for (Grant g : grantsOf(a.user())) {
      if (g.namespace() != null && !g.namespace().equals(a.namespace())) {
        continue;
      }
      for (Rule r : roleRules(g)) {
        if (r.matches(a)) {
          return true;
        }
      }
    }
    return false;
  }

  /** The rules of a role as a binding names it ({@code Role} or {@code ClusterRole}), empty when it does not exist. */
  public List<Rule> role(String kind, String namespace, String name) {
    return "ClusterRole".equals(kind) ? clusterRoles.getOrDefault(name, List.of()) : roles.getOrDefault(namespace + "/" + name, List.of());
  }

  private List<Rule> roleRules(Grant g) {
    return role(g.roleKind(), g.bindingNamespace(), g.roleName());
  }

  private List<Grant> grantsOf(UserInfo user) {
    List<Grant> out = new ArrayList<>(grantsBySubject.getOrDefault("User:" + user.name(), List.of()));
    for (String group : user.groups()) {
      out.addAll(grantsBySubject.getOrDefault("Group:" + group, List.of()));
    }
    out.addAll(grantsBySubject.getOrDefault("Group:system:authenticated", List.of()));
    return out;
  }

  /**
   * Whether the {@code held} rules grant everything {@code wanted} states, broken down to single
   * verb, group, resource and name; a {@code *} wanted is covered only by a {@code *} held, as
   * Kubernetes' escalation check reads it.
   */
  public static List<Rule> uncovered(List<Rule> held, List<Rule> wanted) {
    List<Rule> missing = new ArrayList<>();
    for (Rule w : wanted) {
      if (!covers(held, w)) {
        missing.add(w);
      }
    }
    return missing;
  }

  private static boolean covers(List<Rule> held, Rule w) {
    for (String verb : w.verbs()) {
      for (String url : w.nonResourceURLs()) {
        if (held.stream().noneMatch(h -> lit(h.verbs(), verb) && h.nonResourceURLs().stream()
            .anyMatch(u -> u.equals("*") || u.equals(url) || (u.endsWith("*") && url.startsWith(u.substring(0, u.length() - 1)))))) {
          return false;
        }
      }
      for (String group : w.apiGroups()) {
        for (String resource : w.resources()) {
          List<String> names = w.resourceNames().isEmpty() ? java.util.Collections.singletonList(null) : w.resourceNames();
          for (String name : names) {
            boolean ok = held.stream().anyMatch(h -> lit(h.verbs(), verb) && lit(h.apiGroups(), group)
                && (lit(h.resources(), resource) || (resource.contains("/") && h.resources().contains("*/" + resource.substring(resource.indexOf('/') + 1))))
                && (h.resourceNames().isEmpty() || (name != null && h.resourceNames().contains(name))));
            if (!ok) {
              return false;
            }
          }
        }
      }
    }
    return true;
  }

  private static boolean lit(List<String> held, String wanted) {
    return held.contains("*") || held.contains(wanted);
  }
}
