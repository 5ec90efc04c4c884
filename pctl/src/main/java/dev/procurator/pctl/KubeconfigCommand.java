package dev.procurator.pctl;

import dev.procurator.api.files.PrivateFiles;
import io.fabric8.kubernetes.client.Config;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParentCommand;

/** Writes a kubeconfig for a user, with a token issued for it: hand it to kubectl, pctl or a CI job. */
@Command(name = "kubeconfig", mixinStandardHelpOptions = true,
    description = "Issue a token for a user and write a kubeconfig with it (to stdout, or -o FILE, 0600). Cluster admins only.")
final class KubeconfigCommand implements Callable<Integer> {
  @ParentCommand Pctl global;

  @Option(names = "--user", required = true, description = "The user.") String user;

  @Option(names = "--group", description = "A group of the user (repeatable).") List<String> groups = new java.util.ArrayList<>();

  @Option(names = "--ttl", description = "Lifetime of the token, such as 12h or 7d (default: no expiry).") String ttl;

  @Option(names = {"-o", "--output"}, description = "File to write (default: stdout).") Path output;

  @Override
  public Integer call() throws Exception {
    try (KubernetesClient client = KubeClients.from(global)) {
      Config c = client.getConfiguration();
      String ca = c.getCaCertData() != null ? new String(Base64.getDecoder().decode(c.getCaCertData()), StandardCharsets.UTF_8)
          : c.getCaCertFile() != null ? Files.readString(Path.of(c.getCaCertFile())) : "";
      TokenCommand.Issued t = TokenCommand.issue(client, user, groups, TokenCommand.parseTtl(ttl), false);
      String server = c.getMasterUrl().endsWith("/") ? c.getMasterUrl().substring(0, c.getMasterUrl().length() - 1) : c.getMasterUrl();
      String yaml = Kubeconfigs.withToken(server, ca, user, t.token());
      if (output == null) {
        System.out.print(yaml);
      } else {
        PrivateFiles.write(output, yaml);
        System.out.println("wrote " + output + " for user " + user + " (token-" + t.id() + " in " + TokenCommand.NAMESPACE + ")");
      }
    }
    return 0;
  }
}
