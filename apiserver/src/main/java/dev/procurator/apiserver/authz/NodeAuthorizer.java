package dev.procurator.apiserver.authz;

import dev.procurator.api.v1alpha1.NodeAgreements;
import dev.procurator.apiserver.auth.UserInfo;
import java.util.HashMap;
import java.util.Map;

/**
 * What a node agent may do, as Kubernetes' Node authorizer confines a
 * kubelet: a node ({@code system:node:NAME} in {@code system:nodes}) reads the VMs bound to it,
 * the Secrets and GitRepositories those VMs and its Builds use, every Node and BinaryCache; it asks
 * SubjectAccessReviews (whether a Build's creator may read what the Build names); it writes only
 * its own Node, its Lease in the node lease namespace, the VMs and Builds bound to it, and
 * Events. Everything else is denied, another node's VMs and Secrets included. What it may change
 * in what it writes is {@link NodeRestriction}'s to say. Pure: what is bound where comes from a
 * {@link Graph}.
 */
public final class NodeAuthorizer {
  public static final String NODES_GROUP = "system:nodes";
  public static final String NODE_PREFIX = "system:node:";
  private static final String GROUP = "procurator.dev";

  private NodeAuthorizer() {}

  /** What is bound where, read from the server's current objects. */
  public interface Graph {
    /** Whether the VM exists and is bound to {@code node}. */
    boolean vmBoundTo(String node, String namespace, String name);

    /** Whether the Build exists and runs on {@code node}. */
    boolean buildOn(String node, String namespace, String name);

    /** Whether a VM bound to {@code node} mounts the Secret, or a Build on it pushes with it. */
    boolean secretUsedBy(String node, String namespace, String name);

    /** Whether a Build on {@code node} builds from the GitRepository. */
    boolean repositoryUsedBy(String node, String namespace, String name);
  }

  /** The node a user is, or null when it is not a node. */
  public static String nodeName(UserInfo user) {
    return user.groups().contains(NODES_GROUP) && user.name().startsWith(NODE_PREFIX) && user.name().length() > NODE_PREFIX.length()
        ? user.name().substring(NODE_PREFIX.length()) : null;
  }

  /** The decision for a node's request; {@link Decision.Kind#NO_OPINION} when the user is no node. */
  public static Decision decide(Attributes a, Graph graph) {
    String node = nodeName(a.user());
    if (node == null) {
      return Decision.noOpinion();
    }
    if (!a.isResourceRequest()) {
      return Decision.deny("node \"" + node + "\" may not " + a.verb() + " " + a.path());
    }
    boolean ok = switch (a.apiGroup()) {
      case GROUP -> procurator(a, node, graph);
      // its heartbeat only: a Lease named after it in the node lease namespace (the name of a create is checked on admission)
      case "coordination.k8s.io" -> a.resource().equals("leases") && a.subresource() == null
          && NodeAgreements.LEASE_NAMESPACE.equals(a.namespace())
          && (a.verb().equals("create") || (node.equals(a.name()) && is(a.verb(), "get", "update", "patch")));
      case "certificates.k8s.io" -> a.resource().equals("certificatesigningrequests") && a.verb().equals("create") && a.subresource() == null;
      // a builder asks whether a Build's creator may get the Secret the Build names, as a kubelet asks for its webhook
      case "authorization.k8s.io" -> a.resource().equals("subjectaccessreviews") && a.verb().equals("create");
      case "", "events.k8s.io" -> a.resource().equals("events") && is(a.verb(), "create", "update", "patch", "get");
      default -> false;
    };
    return ok ? Decision.allow("node " + node) : Decision.deny(a.denial() + ": a node may only reach what is bound to it");
  }

  private static boolean procurator(Attributes a, String node, Graph graph) {
    String verb = a.verb();
    String sub = a.subresource();
    return switch (a.resource()) {
      case "vms" -> switch (verb) {
        case "get" -> sub == null && graph.vmBoundTo(node, a.namespace(), a.name());
        case "list", "watch" -> sub == null && node.equals(selected(a.fieldSelector()).get("spec.nodeName"));
        case "update", "patch" -> (sub == null || sub.equals("status")) && graph.vmBoundTo(node, a.namespace(), a.name());
        default -> false;
      };
      case "builds" -> switch (verb) {
        case "get" -> sub == null && graph.buildOn(node, a.namespace(), a.name());
        case "list", "watch" -> sub == null && node.equals(selected(a.fieldSelector()).get("status.nodeName"));
        case "update", "patch" -> "status".equals(sub) && graph.buildOn(node, a.namespace(), a.name());
        default -> false;
      };
      case "secrets" -> switch (verb) {
        case "get" -> sub == null && a.namespace() != null && graph.secretUsedBy(node, a.namespace(), a.name());
        // one Secret watched by name, as a kubelet watches the Secrets its pods mount
        case "list", "watch" -> {
          String name = selected(a.fieldSelector()).get("metadata.name");
          yield sub == null && a.namespace() != null && name != null && graph.secretUsedBy(node, a.namespace(), name);
        }
        default -> false;
      };
      // the caches Builds may push to: a builder refuses any other
      case "binarycaches" -> sub == null && is(verb, "get", "list", "watch");
      case "gitrepositories" -> verb.equals("get") && sub == null && a.namespace() != null
          && graph.repositoryUsedBy(node, a.namespace(), a.name());
      case "nodes" -> switch (verb) {
        case "get", "list", "watch", "create" -> sub == null || verb.equals("get");
        case "update", "patch" -> node.equals(a.name());
        default -> false;
      };
      default -> false;
    };
  }

  /** The equality terms of a field selector ({@code a=b,c==d}); other terms are left out. */
  static Map<String, String> selected(String selector) {
    Map<String, String> out = new HashMap<>();
    if (selector == null) {
      return out;
    }
    for (String term : selector.split(",")) {
      if (term.contains("!=")) {
        continue;
      }
      int i = term.indexOf('=');
      if (i > 0) {
        String value = term.substring(i + 1);
        out.put(term.substring(0, i).trim(), (value.startsWith("=") ? value.substring(1) : value).trim());
      }
    }
    return out;
  }

  private static boolean is(String verb, String... verbs) {
    for (String v : verbs) {
      if (v.equals(verb)) {
        return true;
      }
    }
    return false;
  }
}
