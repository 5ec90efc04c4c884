package dev.procurator.api.v1alpha1;

import java.util.List;

/**
 * The users objects act as when a loop works for them. A loop never uses its own rights on a
 * user's behalf: it impersonates the object's identity, which holds only what RBAC gives it.
 */
public final class Identities {
  /** Every GitRepository's identity is in this group. */
  public static final String GITOPS_GROUP = "system:gitops";

  private Identities() {}

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
