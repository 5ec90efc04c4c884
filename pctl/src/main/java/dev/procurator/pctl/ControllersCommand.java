package dev.procurator.pctl;

import dev.procurator.controllers.ControllerManager;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.time.Clock;
import java.time.Duration;
import java.util.UUID;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParentCommand;

/** Runs a controller-manager replica in the foreground; replicas elect one leader among them. */
@Command(name = "controllers", mixinStandardHelpOptions = true,
    description = "Run the controllers (scheduler, node lifecycle, clusters, garbage collection) in the foreground; run several for failover.")
final class ControllersCommand implements Callable<Integer> {
  @ParentCommand Pctl global;

  @Option(names = "--id", description = "This replica's identity in leader election (default: host name and a random suffix).")
  String id;

  @Mixin NodeGracePeriodOption gracePeriod;

  @Option(names = "--cache-url", description = "Binary cache in which Cluster revisions' closures are pinned, such as http://10.0.0.9:7444.")
  String cacheUrl;

  @Option(names = "--cache-token-file", description = "File holding the cache's push token (pins need it).")
  java.nio.file.Path cacheTokenFile;

  @Option(names = "--git-cache-dir", description = "Where GitRepositories' remotes are mirrored (default: ~/.procurator/git-cache).")
  java.nio.file.Path gitCacheDir;

  @Option(names = "--allow-private-git-urls",
      description = "Let GitRepositories name file:// remotes and remotes on loopback, link-local or private addresses (refused by default).")
  boolean allowPrivateGitUrls;

  @Option(names = "--metrics-listen", defaultValue = "none",
      description = "host:port at which to serve the controllers' Prometheus metrics at /metrics, unauthenticated"
          + " (default: ${DEFAULT-VALUE}: not served; 127.0.0.1:0 picks a free port).")
  String metricsListen;

  @picocli.CommandLine.Mixin FlakeEvalOptions flakeEval = new FlakeEvalOptions();

  @Override
  public Integer call() throws Exception {
    if ((cacheUrl == null) != (cacheTokenFile == null)) {
      throw new Errors.UserError("--cache-url and --cache-token-file go together");
    }
    HostPort metricsAddress = metricsListen.equals("none") ? null : HostPort.parse("--metrics-listen", metricsListen);
    String token = cacheTokenFile == null ? null : java.nio.file.Files.readString(cacheTokenFile).trim();
    PrometheusMeterRegistry registry = metricsAddress == null ? null : new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    MetricsListener listener = metricsAddress == null ? null : MetricsListener.start(metricsAddress, registry);
    KubernetesClient client = KubeClients.fromKubeconfig(KubeClients.kubeconfigOf(global));
    java.nio.file.Path git = gitCacheDir != null ? gitCacheDir : UserDirs.procurator().resolve("git-cache");
    ControllerManager manager = start(client, id, gracePeriod.graceSeconds, cacheUrl, token, git, allowPrivateGitUrls, flakeEval.limits(),
        registry);
    System.out.println("Controllers are up; this replica takes part in leader election");
    if (listener != null) {
      System.out.println("  metrics: " + listener.url() + "/metrics");
    }
    System.out.flush();
    CountDownLatch stopped = new CountDownLatch(1);
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      manager.close();
      client.close();
      if (listener != null) {
        listener.close();
      }
      stopped.countDown();
    }, "controllers-shutdown"));
    stopped.await();
    return 0;
  }

  static ControllerManager start(KubernetesClient client, String id, int graceSeconds, String cacheUrl, String cachePushToken,
      java.nio.file.Path gitCacheDir, boolean allowPrivateGitUrls, dev.procurator.api.nix.NixJail.Limits flakeEvalLimits,
      io.micrometer.core.instrument.MeterRegistry metrics) {
    String identity = id != null ? id : AgentCommand.hostName() + "-" + UUID.randomUUID().toString().substring(0, 8);
    ControllerManager manager = new ControllerManager(client, ControllerManager.Config.defaults(identity)
        .withNodeGracePeriod(Duration.ofSeconds(graceSeconds)).withCache(cacheUrl, cachePushToken).withGitCacheDir(gitCacheDir)
        .withPrivateGitUrls(allowPrivateGitUrls).withFlakeEvalLimits(flakeEvalLimits), Clock.systemUTC());
    if (metrics != null) {
      manager.withMetrics(metrics);
    }
    return manager.start();
  }
}
