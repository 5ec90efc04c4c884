package dev.procurator.pctl;

import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.ScopeType;

/** The {@code pctl} command. Exit codes: 0 success, 1 the operation failed, 2 bad usage. */
@Command(name = "pctl", mixinStandardHelpOptions = true, versionProvider = Pctl.Version.class,
    description = "Drive a Procurator cluster: run it on this host, apply manifests, watch resources.",
    subcommands = {UpCommand.class, ApplyCommand.class, GetCommand.class, DescribeCommand.class, DeleteCommand.class,
        CacheCommand.class, LogsCommand.class, RolloutCommand.class, SyncCommand.class, WaitCommand.class, SecretsCommand.class, TokenCommand.class, KubeconfigCommand.class, AuditCommand.class, AgentCommand.class, ControllersCommand.class},
    exitCodeOnExecutionException = 1, exitCodeOnInvalidInput = 2)
public final class Pctl {
  @Option(names = "--kubeconfig", scope = ScopeType.INHERIT,
      description = "Kubeconfig file (default: $KUBECONFIG, then ~/.procurator/kubeconfig written by 'pctl up').")
  String kubeconfig;

  @Option(names = "--server", scope = ScopeType.INHERIT, description = "API server URL, overriding the kubeconfig's.")
  String server;

  @Option(names = "--token", scope = ScopeType.INHERIT, description = "Bearer token, overriding the kubeconfig's.")
  String token;

  static final class Version implements CommandLine.IVersionProvider {
    @Override
    public String[] getVersion() {
      return new String[] {"pctl " + dev.procurator.apiserver.ApiServer.VERSION};
    }
  }

  public static void main(String[] args) {
    System.exit(run(args));
  }

  /** Runs pctl with {@code args} and returns its exit code. */
  public static int run(String... args) {
    CommandLine cl = new CommandLine(new Pctl());
    cl.setExecutionExceptionHandler((e, cmd, parsed) -> {
      cmd.getErr().println(Errors.describe(e));
      return 1;
    });
    return cl.execute(args);
  }
}
