package dev.procurator.pctl;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import java.util.Set;
import org.slf4j.LoggerFactory;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.ScopeType;

/** The {@code pctl} command. Exit codes: 0 success, 1 the operation failed, 2 bad usage. */
@Command(name = "pctl", mixinStandardHelpOptions = true, versionProvider = Pctl.Version.class,
    description = "Drive a Procurator cluster: run it on this host, apply manifests, watch resources.",
    subcommands = {UpCommand.class, ApplyCommand.class, GetCommand.class, DescribeCommand.class, DeleteCommand.class,
        CacheCommand.class, ClosureCommand.class, LogsCommand.class, RolloutCommand.class, SyncCommand.class, WaitCommand.class, SecretsCommand.class, TokenCommand.class, NodeCommand.class, KubeconfigCommand.class, AuditCommand.class, AgentCommand.class, ControllersCommand.class},
    exitCodeOnExecutionException = 1, exitCodeOnInvalidInput = 2)
public final class Pctl {
  @Option(names = "--kubeconfig", scope = ScopeType.INHERIT,
      description = "Kubeconfig file (default: $KUBECONFIG, then ~/.procurator/kubeconfig written by 'pctl up').")
  String kubeconfig;

  @Option(names = "--server", scope = ScopeType.INHERIT, description = "API server URL, overriding the kubeconfig's.")
  String server;

  @Option(names = "--token", scope = ScopeType.INHERIT, description = "Bearer token, overriding the kubeconfig's.")
  String token;

  @Option(names = {"-v", "--verbose"}, scope = ScopeType.INHERIT,
      description = "Log what pctl and its libraries do to stderr: -v for information, -vv for debugging.")
  boolean[] verbose = new boolean[0];

  /** The commands that run a server in the foreground and log as it works; every other command prints its answer and errors only. */
  static final Set<String> SERVERS = Set.of("up", "agent", "controllers", "cache");

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
    Pctl pctl = new Pctl();
    CommandLine cl = new CommandLine(pctl);
    cl.setExecutionExceptionHandler((e, cmd, parsed) -> {
      cmd.getErr().println(Errors.describe(e));
      return 1;
    });
    Logger root = (Logger) LoggerFactory.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME);
    Level before = root.getLevel();
    cl.setExecutionStrategy(parsed -> {
      boolean server = parsed.asCommandLineList().stream().anyMatch(c -> SERVERS.contains(c.getCommandName()));
      root.setLevel(logLevel(server, pctl.verbose.length));
      return new CommandLine.RunLast().execute(parsed);
    });
    try {
      return cl.execute(args);
    } finally {
      root.setLevel(before); // pctl may run in another program's JVM (its tests do)
    }
  }

  /**
   * What reaches stderr: a server logs what it does (INFO); a client command only errors (its own
   * it prints as one line), so library chatter such as fabric8's warning about v1alpha1 kinds
   * stays out of users' terminals and scripts unless they ask with -v.
   */
  static Level logLevel(boolean server, int verbosity) {
    if (verbosity >= 2) {
      return Level.DEBUG;
    }
    return server || verbosity == 1 ? Level.INFO : Level.ERROR;
  }
}
