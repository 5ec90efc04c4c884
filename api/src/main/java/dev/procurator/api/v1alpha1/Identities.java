package dev.procurator.api.v1alpha1;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.ArrayList;
import java.util.List;

/**
 * The users objects act as when a loop works for them. A loop never uses its own rights on a
 * user's behalf: it impersonates the object's identity, which holds only what RBAC gives it.
 */
public final class Identities {
  /** Every GitRepository's identity is in this group. */
  public static final String GITOPS_GROUP = "system:gitops";

  /**
   * The annotation in which the API server records who created a Build ({@link User#annotation}):
   * set at create from the authenticated (or impersonated) user, kept as it is by every update; a
   * client can neither set nor change it. What the Build reads for its user (its cache's push
   * token), it reads only if this user may.
   */
  public static final String REQUESTER = "procurator.dev/requester";

  private static final ObjectMapper JSON = new ObjectMapper();

  private Identities() {}

  /** A user and its groups, as an access review asks about them. */
  public record User(String name, List<String> groups) {
    public User {
      groups = groups == null ? List.of() : List.copyOf(groups);
    }

    /** {@code {"username":NAME,"groups":[…]}}. */
    public String annotation() {
      ObjectNode n = JSON.createObjectNode().put("username", name);
      groups.forEach(n.putArray("groups")::add);
      return n.toString();
    }

    /** The user an {@link #annotation} names, or null when {@code value} is none. */
    public static User ofAnnotation(String value) {
      if (value == null) {
        return null;
      }
      try {
        JsonNode n = JSON.readTree(value);
        if (!n.path("username").isTextual() || n.path("username").asText().isEmpty()) {
          return null;
        }
        List<String> groups = new ArrayList<>();
        n.path("groups").forEach(g -> groups.add(g.asText()));
        return new User(n.path("username").asText(), groups);
      } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
        return null;
      }
    }
  }

  /** {@code system:gitops:NAMESPACE:NAME}: what a GitRepository applies, it applies as this user. */
  public static String gitRepository(String namespace, String name) {
    return GITOPS_GROUP + ":" + namespace + ":" + name;
  }

  /** {@code system:gitops:NAMESPACE}: the GitRepositories of one namespace, to bind a role to them all. */
  public static String gitRepositoriesOf(String namespace) {
    return GITOPS_GROUP + ":" + namespace;
  }

  /** The groups of a GitRepository's identity. */
  public static List<String> gitRepositoryGroups(String namespace) {
    return List.of(GITOPS_GROUP, gitRepositoriesOf(namespace));
  }
}
