package dev.procurator.apiserver.authz;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.procurator.api.v1alpha1.NodeAgreements;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;

/**
 * What a node may change in the objects {@link NodeAuthorizer} lets it write, as Kubernetes'
 * NodeRestriction admission holds a kubelet: decided on the object as stored and the object the
 * write would store.
 *
 * <ul>
 *   <li>VMs and Builds bound to it: their status, and its own finalizer ({@value
 *       NodeAgreements#AGENT_FINALIZER}) added or removed; nothing else of their spec or metadata.
 *       A Build it may give back to the queue (clear {@code status.nodeName}, for a retry), never
 *       hand to another node.
 *   <li>Its own Node, never another: any label but those under {@code procurator.dev/} (or a
 *       subdomain of it), which cluster admins set (the builder label draws Builds and their
 *       credentials, and {@code nodeSelector}s match such labels); a node creating its Node may set
 *       none of them, and one updating it may neither add, change nor remove one.
 *   <li>Leases: only its own heartbeat, named after it in {@value NodeAgreements#LEASE_NAMESPACE}.
 * </ul>
 *
 * Pure: null when the write may go ahead, else why not.
 */
public final class NodeRestriction {
  private static final String LABEL_DOMAIN = NodeAgreements.ADMIN_LABEL_DOMAIN;
  private static final String GROUP = "procurator.dev";
  /** Metadata the server sets on every write, whoever writes. */
  private static final List<String> SERVER_SET = List.of("resourceVersion", "managedFields", "generation");
  private static final com.fasterxml.jackson.databind.ObjectMapper JSON = new com.fasterxml.jackson.databind.ObjectMapper();

  private NodeRestriction() {}

  /**
   * Whether node {@code node} may store {@code next} over {@code old} (null: a create).
   *
   * @return null when it may, else the reason it may not
   */
  public static String check(String node, String apiGroup, String resource, JsonNode old, JsonNode next) {
    String name = next.path("metadata").path("name").asText();
    if (GROUP.equals(apiGroup)) {
      return switch (resource) {
        case "nodes" -> node(node, name, old, next);
        case "vms" -> boundObject(node, "VM", name, old, next, false);
        case "builds" -> boundObject(node, "Build", name, old, next, true);
        default -> null;
      };
    }
    if ("coordination.k8s.io".equals(apiGroup) && resource.equals("leases")) {
      String namespace = next.path("metadata").path("namespace").asText();
      if (!NodeAgreements.LEASE_NAMESPACE.equals(namespace) || !node.equals(name)) {
        return "node \"" + node + "\" may write only its own Lease, " + NodeAgreements.LEASE_NAMESPACE + "/" + node + ", not "
            + namespace + "/" + name;
      }
    }
    return null;
  }

  private static String node(String node, String name, JsonNode old, JsonNode next) {
    if (!node.equals(name)) {
      return "node \"" + node + "\" may not write nodes \"" + name + "\"";
    }
    Map<String, String> before = restrictedLabels(old);
    Map<String, String> after = restrictedLabels(next);
    if (!before.equals(after)) {
      List<String> changed = new ArrayList<>();
      for (String k : new java.util.TreeSet<>(union(before.keySet(), after.keySet()))) {
        if (!Objects.equals(before.get(k), after.get(k))) {
          changed.add(k);
        }
      }
      return "node \"" + node + "\" may not " + (old == null ? "set" : "add, change or remove") + " the label"
          + (changed.size() == 1 ? " " : "s ") + String.join(", ", changed) + " on its Node: labels under " + LABEL_DOMAIN
          + "/ are set by cluster admins (kubectl label nodes.procurator.dev " + node + " KEY=VALUE)";
    }
    return null;
  }

  private static java.util.Set<String> union(java.util.Set<String> a, java.util.Set<String> b) {
    java.util.Set<String> all = new java.util.HashSet<>(a);
    all.addAll(b);
    return all;
  }

  private static Map<String, String> restrictedLabels(JsonNode object) {
    Map<String, String> out = new TreeMap<>();
    if (object == null) {
      return out;
    }
    for (Iterator<Map.Entry<String, JsonNode>> it = object.path("metadata").path("labels").fields(); it.hasNext(); ) {
      var e = it.next();
      if (NodeAgreements.adminLabel(e.getKey())) {
        out.put(e.getKey(), e.getValue().asText());
      }
    }
    return out;
  }

  /**
   * A VM or Build bound to the node: only its status and the agent's own finalizer may differ
   * (and for a Build, not where it is placed).
   */
  private static String boundObject(String node, String kind, String name, JsonNode old, JsonNode next, boolean placedByStatus) {
    if (old == null) {
      return "node \"" + node + "\" may not create a " + kind;
    }
    List<String> changed = new ArrayList<>();
    ObjectNode a = withoutStatusAndServerFields(old);
    ObjectNode b = withoutStatusAndServerFields(next);
    for (String field : union(names(a), names(b))) {
      if (field.equals("metadata")) {
        for (String m : union(names(a.path("metadata")), names(b.path("metadata")))) {
          if (!Objects.equals(a.path("metadata").get(m), b.path("metadata").get(m))) {
            changed.add("metadata." + m);
          }
        }
      } else if (!Objects.equals(a.get(field), b.get(field))) {
        changed.add(field);
      }
    }
    List<String> finalizersBefore = finalizers(old);
    List<String> finalizersAfter = finalizers(next);
    finalizersBefore.removeIf(NodeAgreements.AGENT_FINALIZER::equals);
    finalizersAfter.removeIf(NodeAgreements.AGENT_FINALIZER::equals);
    if (!finalizersBefore.equals(finalizersAfter)) {
      changed.add("metadata.finalizers (other than " + NodeAgreements.AGENT_FINALIZER + ")");
    }
    JsonNode placed = next.path("status").path("nodeName");
    if (placedByStatus && !old.path("status").path("nodeName").equals(placed) && !placed.isMissingNode() && !placed.isNull()) {
      changed.add("status.nodeName"); // it may give the Build back to the queue (a retry), not hand it to another node
    }
    if (changed.isEmpty()) {
      return null;
    }
    java.util.Collections.sort(changed);
    return "node \"" + node + "\" may change only the status of " + kind + " \"" + name + "\" and its own finalizer "
        + NodeAgreements.AGENT_FINALIZER + ", not " + String.join(", ", changed);
  }

  /** A copy without status and what the server sets, its numbers read back from JSON text (so 1 as an int equals 1 as a long). */
  private static ObjectNode withoutStatusAndServerFields(JsonNode o) {
    ObjectNode copy;
    try {
      copy = (ObjectNode) JSON.readTree(JSON.writeValueAsBytes(o));
    } catch (java.io.IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
    copy.remove("status");
    if (copy.get("metadata") instanceof ObjectNode meta) {
      meta.remove(SERVER_SET);
      meta.remove("finalizers");
    }
    return copy;
  }

  private static java.util.Set<String> names(JsonNode o) {
    java.util.Set<String> out = new java.util.TreeSet<>();
    o.fieldNames().forEachRemaining(out::add);
    return out;
  }

  private static List<String> finalizers(JsonNode o) {
    List<String> out = new ArrayList<>();
    o.path("metadata").path("finalizers").forEach(f -> out.add(f.asText()));
    java.util.Collections.sort(out);
    return out;
  }
}
