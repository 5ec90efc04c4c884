package dev.procurator.pctl;

import dev.procurator.api.v1alpha1.Secret;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;

/**
 * Nodes' identities. {@code revoke NAME} refuses every certificate the node holds from now on, as
 * deleting its Node does: it deletes the node's identity, the Secret {@code node-NAME} of {@code
 * procurator-system} that each of its certificates names. The node may join again with a new
 * join token, and gets a new identity.
 */
@Command(name = "node", mixinStandardHelpOptions = true, description = "Nodes' identities: revoke.",
    subcommands = {NodeCommand.Revoke.class})
final class NodeCommand {
  static final String IDENTITY_PREFIX = "node-";

  @ParentCommand Pctl global;

  @Command(name = "revoke", mixinStandardHelpOptions = true,
      description = "Refuse the node's certificates from now on (its Node stays; its VMs move after the grace period). Cluster admins only.")
  static final class Revoke implements Callable<Integer> {
    @ParentCommand NodeCommand parent;

    @Parameters(index = "0", paramLabel = "NAME", description = "The node.") String name;

    @Override
    public Integer call() {
      try (KubernetesClient client = KubeClients.from(parent.global)) {
        boolean deleted;
        try {
          deleted = !client.resources(Secret.class).inNamespace(TokenCommand.NAMESPACE).withName(IDENTITY_PREFIX + name).delete().isEmpty();
        } catch (KubernetesClientException e) {
          if (e.getCode() == 403) {
            throw new Errors.UserError("only cluster admins may revoke a node: " + e.getStatus().getMessage());
          }
          throw e;
        }
        if (!deleted) {
          throw new Errors.UserError("node \"" + name + "\" holds no certificate to revoke: it never joined, or was revoked already");
        }
      }
      System.out.println("node/" + name + " revoked: its certificates are refused from now on; it may join again with a new join token");
      return 0;
    }
  }
}
