package dev.procurator.pctl;

import dev.procurator.api.files.PrivateFiles;
import dev.procurator.apiserver.ApiServer;
import dev.procurator.apiserver.ApiServerConfig;
import dev.procurator.apiserver.auth.Pki;
import dev.procurator.cachesrv.CacheFiles;
import dev.procurator.cachesrv.CacheServer;
import dev.procurator.controllers.ControllerManager;
import dev.procurator.nodeagent.NodeAgent;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.util.Deque;
import java.util.concurrent.ConcurrentLinkedDeque;
import java.util.concurrent.atomic.AtomicReference;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Clock;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import java.net.URI;
import java.util.Optional;

/** Runs Procurator on this host in the foreground until SIGTERM or Ctrl-C. */
@Command(name = "up", mixinStandardHelpOptions = true,
    description = "Run Procurator on this host in the foreground: the API server on its embedded store (or etcd),"
        + " the binary cache, the controllers and a node agent for this host.")
final class UpCommand implements Callable<Integer> {
  @Option(names = "--data-dir", description = "State directory (default: ~/.procurator/data).")
  Path dataDir;

  @Option(names = "--listen", defaultValue = "127.0.0.1:7443", description = "host:port of the API server (default: ${DEFAULT-VALUE}).")
  String listen;

  @Option(names = "--store", defaultValue = "embedded",
      description = "'embedded' (default), or etcd://host:port[,host:port...] for an etcd cluster.")
  String store;

  @Option(names = "--cache-listen", defaultValue = "127.0.0.1:7444",
      description = "host:port of the Nix binary cache (default: ${DEFAULT-VALUE}), or 'none'.")
  String cacheListen;

  @Option(names = "--cache-max-size", defaultValue = "0", description = "Size cap of the binary cache, such as 50G (0: none).")
  String cacheMaxSize;

  @Option(names = "--node-name", description = "Name of this host's Node (default: the host name).")
  String nodeName;

  @Option(names = "--no-agent", description = "Run no node agent on this host (a control-plane-only host).")
  boolean noAgent;

  @Option(names = "--no-controllers", description = "Run no controllers here (they run elsewhere with 'pctl controllers').")
  boolean noControllers;

  @Option(names = "--agent-listen", defaultValue = "127.0.0.1:0",
      description = "host:port of the node agent's logs and metrics endpoint (default: ${DEFAULT-VALUE}, a free port).")
  String agentListen;

  @Option(names = "--images-dir", description = "Where VMs' relative kernel and initrd paths are found (default: DATA_DIR/images).")
  Path imagesDir;

  @Option(names = "--max-builds", defaultValue = "1",
      description = "Builds this host runs at once (default: ${DEFAULT-VALUE}; 0: it is no builder).")
  int maxBuilds;

  @Mixin BuildSandboxOptions builds;

  @Option(names = "--audit-log",
      description = "The audit log: a JSON line per request about Secrets, per write and per key change (default: DATA_DIR/audit.log).")
  Path auditLog;

  @Option(names = "--encryption-key-file",
      description = "Keys Secrets are sealed under at rest (default: DATA_DIR/encryption-key, made on first start). API servers sharing an etcd share it.")
  Path encryptionKeyFile;

  @Option(names = "--audit-all-reads", description = "Audit every read too (Secrets' reads and every write always are).")
  boolean auditAllReads;

  @Option(names = "--audit-max-size", defaultValue = "100M", description = "Rotate the audit log past this size (default: ${DEFAULT-VALUE}).")
  String auditMaxSize;

  @Option(names = "--audit-backups", defaultValue = "5", description = "Rotated audit logs kept (default: ${DEFAULT-VALUE}).")
  int auditBackups;

  @Option(names = "--audit-when-full", defaultValue = "block",
      description = "When the audit buffer (10,000 lines) is full: block (the request writes its own line; none lost) or drop (counted in the next line).")
  String auditWhenFull;

  @Option(names = "--token-auth-file",
      description = "Users' bearer tokens, one per line as kube-apiserver reads them: token,user,uid,\"group1,group2\".")
  Path tokenAuthFile;

  @Option(names = "--node-cert-ttl", defaultValue = "24h",
      description = "Lifetime of the node certificates the API server signs (default: ${DEFAULT-VALUE}); nodes renew them at 70%%.")
  String nodeCertTtl;

  @Option(names = "--no-metrics",
      description = "Measure nothing and serve no /metrics (by default the API server serves its and the controllers' metrics there).")
  boolean noMetrics;

  @Option(names = "--no-prometheus", description = "Start no Prometheus (by default pctl up runs Debian's prometheus, if installed, scraping the cluster).")
  boolean noPrometheus;

  @Option(names = "--prometheus-listen", defaultValue = "127.0.0.1:9090", description = "host:port of Prometheus' web UI and API (default: ${DEFAULT-VALUE}).")
  String prometheusListen;

  @Option(names = "--metrics-retention", defaultValue = "15d", description = "How long Prometheus keeps what it scraped (default: ${DEFAULT-VALUE}).")
  String metricsRetention;

  @Option(names = "--metrics-interval", defaultValue = "15s",
      description = "How often Prometheus scrapes, evaluates the alert rules and asks the API server for targets (default: ${DEFAULT-VALUE}).")
  String metricsInterval;

  @Option(names = "--alertmanager", paramLabel = "WEBHOOK_URL",
      description = "Start Debian's prometheus-alertmanager, sending every alert to this webhook (Alertmanager's webhook format).")
  String alertmanagerWebhook;

  @Option(names = "--alertmanager-listen", defaultValue = "127.0.0.1:9093", description = "host:port of Alertmanager (default: ${DEFAULT-VALUE}).")
  String alertmanagerListen;

  @Option(names = "--alert-group-wait", defaultValue = "30s",
      description = "How long Alertmanager waits for more alerts of a group before it sends the first (default: ${DEFAULT-VALUE}).")
  String alertGroupWait;

  @Mixin NodeGracePeriodOption gracePeriod;

  @picocli.CommandLine.Mixin FlakeEvalOptions flakeEval = new FlakeEvalOptions();

  @Override
  public Integer call() throws Exception {
    Path dir = dataDir != null ? dataDir : UserDirs.procurator().resolve("data");
    // it holds the store, keys and tokens: the owner's only, and an older, looser one is tightened
    if (PrivateFiles.privateDirectory(dir)) {
      System.out.println("Made the data directory " + dir + " private (mode 0700): it holds keys and tokens");
    }
    HostPort address = HostPort.parse("--listen", listen);
    String host = address.host();
    int port = address.port();
    String token = adminToken(dir);
    // the controllers run as their own user, bound to the system:procurator-controllers role
    String controllersToken = secretFile(dir, "controllers-token");
    // Prometheus reads as its own user, bound to system:monitoring: /metrics and /sd/prometheus, nothing else
    String prometheusToken = secretFile(dir, "prometheus-token");
    boolean prometheus = !noMetrics && !noPrometheus;
    if (prometheus) {
      HostPort.parse("--prometheus-listen", prometheusListen);
      for (String[] d : List.of(new String[] {"--metrics-retention", metricsRetention}, new String[] {"--metrics-interval", metricsInterval},
          new String[] {"--alert-group-wait", alertGroupWait})) {
        if (!Monitoring.DURATION.matcher(d[1]).matches()) {
          throw new Errors.UserError(d[0] + " must be a duration such as 15d, 30s or 1h30m, not \"" + d[1] + "\"");
        }
      }
      if (alertmanagerWebhook != null) {
        HostPort.parse("--alertmanager-listen", alertmanagerListen);
        URI hook;
        try {
          hook = new URI(alertmanagerWebhook);
        } catch (java.net.URISyntaxException e) {
          hook = null;
        }
        if (hook == null || hook.getHost() == null || !("http".equals(hook.getScheme()) || "https".equals(hook.getScheme()))) {
          throw new Errors.UserError("--alertmanager must be an http:// or https:// URL, not \"" + alertmanagerWebhook + "\"");
        }
      }
    } else if (alertmanagerWebhook != null) {
      throw new Errors.UserError("--alertmanager needs Prometheus, which " + (noMetrics ? "--no-metrics" : "--no-prometheus") + " turns off");
    }
    Pki pki = Pki.ensure(dir.resolve("pki"), List.of(host));
    ApiServerConfig config = ApiServerConfig.embedded(host, port, dir.resolve("store"), token)
        .withToken(controllersToken, new dev.procurator.apiserver.auth.UserInfo(CONTROLLERS, List.of(CONTROLLERS)))
        .withToken(prometheusToken, new dev.procurator.apiserver.auth.UserInfo(PROMETHEUS, List.of()))
        .withAccess(new ApiServerConfig.Access(tokenAuthFile == null ? null : tokenAuthFile.toAbsolutePath(), pki.caCert(), true, dir.resolve("pki")))
        .withTls(pki.serverCert(), pki.serverKey())
        .withEncryptionKeyFile(encryptionKeyFile != null ? encryptionKeyFile.toAbsolutePath() : dir.resolve("encryption-key"))
        .withAuditLog(auditLog != null ? auditLog.toAbsolutePath() : dir.resolve("audit.log"));
    java.time.Duration certTtl;
    try {
      certTtl = Durations.parse(nodeCertTtl);
    } catch (IllegalArgumentException e) {
      certTtl = java.time.Duration.ZERO;
    }
    if (certTtl.compareTo(dev.procurator.apiserver.auth.NodeCertificates.MIN) < 0) {
      throw new Errors.UserError("--node-cert-ttl must be at least " + dev.procurator.apiserver.auth.NodeCertificates.MIN.toSeconds()
          + "s, such as 1h or 24h, not \"" + nodeCertTtl + "\"");
    }
    config = config.withAccess(config.access().withNodeCertTtl(certTtl)).withMetrics(!noMetrics);
    if (!auditWhenFull.equals("block") && !auditWhenFull.equals("drop")) {
      throw new Errors.UserError("--audit-when-full must be block or drop, not \"" + auditWhenFull + "\"");
    }
    config = config.withAccess(config.access().withAudit(new ApiServerConfig.AuditPolicy(auditAllReads,
        Math.max(4096, CacheCommand.parseSize(auditMaxSize)), auditBackups, 10_000, auditWhenFull.equals("drop"))));
    if (store.startsWith("etcd://")) {
      List<String> endpoints = Arrays.stream(store.substring("etcd://".length()).split(","))
          .map(s -> s.startsWith("http") ? s : "http://" + s).toList();
      config = config.withEtcd(endpoints);
    } else if (!store.equals("embedded")) {
      throw new Errors.UserError("--store must be 'embedded' or etcd://host:port[,host:port...], not \"" + store + "\"");
    }
    // what has started, closed in reverse order on SIGTERM or Ctrl-C, even if that comes while starting
    Deque<AutoCloseable> started = new ConcurrentLinkedDeque<>();
    CountDownLatch stopped = new CountDownLatch(1);
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      System.out.println("Procurator is stopping (VMs keep running; the next 'pctl up' adopts them)");
      for (AutoCloseable c : started) {
        try {
          c.close();
        } catch (Exception e) {
          System.err.println("error: stopping " + c + ": " + e);
        }
      }
      stopped.countDown();
    }, "pctl-shutdown"));
    ApiServer server = new ApiServer(config, Clock.systemUTC()).start();
    started.push(server);
    CacheServer cache = cacheListen.equals("none") ? null
        : CacheCommand.start(dir, cacheListen, "procurator-cache-1", false, 40, CacheCommand.parseSize(cacheMaxSize), null);
    if (cache != null) {
      started.push(cache);
    }
    String url = "https://" + (host.equals("0.0.0.0") ? "127.0.0.1" : host) + ":" + server.port();
    Path kubeconfig = dir.resolve("kubeconfig");
    writeKubeconfig(kubeconfig, url, token, pki.caPem());
    Path shared = UserDirs.procurator().resolve("kubeconfig");
    PrivateFiles.write(shared, Files.readString(kubeconfig));
    System.out.println("Procurator is up: API server " + url);
    System.out.println("  kubeconfig: " + kubeconfig + " (also " + shared + ")");
    System.out.println("  try: pctl --kubeconfig " + kubeconfig + " get vms");
    if (cache != null) {
      System.out.println("Binary cache: " + cache.url() + " (public key " + dir.resolve("cache-key.pub") + ", push token "
          + dir.resolve("cache-token") + ")");
    }
    System.out.flush();
    try (KubernetesClient admin = KubeClients.fromKubeconfig(kubeconfig)) {
      bindDefaultGitOps(admin);
      if (cache != null) {
        registerCache(admin, OWN_CACHE, cache.url());
      }
      if (prometheus) {
        bindPrometheus(admin);
      }
    }
    if (prometheus) {
      startMonitoring(dir, url, pki.caCert(), cache, started);
    }
    if (!noControllers) {
      Path controllersKubeconfig = dir.resolve("controllers.kubeconfig");
      PrivateFiles.write(controllersKubeconfig, Kubeconfigs.withToken(url, pki.caPem(), CONTROLLERS, controllersToken));
      KubernetesClient controllersClient = KubeClients.fromKubeconfig(controllersKubeconfig);
      started.push(controllersClient);
      // Cluster revisions are pinned in this host's own cache, with its push token
      String pinUrl = cache == null ? null : cache.url();
      String pinToken = cache == null ? null : new CacheFiles(dir).pushToken();
      // one host: its GitRepositories may name remotes on this host and its network
      started.push(ControllersCommand.start(controllersClient, "up-" + AgentCommand.hostName(), gracePeriod.graceSeconds, pinUrl, pinToken,
          dir.resolve("git-cache"), true, flakeEval.limits(), server.metrics()));
    }
    if (!noAgent) {
      Path images = imagesDir != null ? imagesDir.toAbsolutePath() : dir.toAbsolutePath().resolve("images");
      String cacheUrl = null;
      String cacheKey = null;
      if (cache != null) {
        CacheFiles files = new CacheFiles(dir);
        cacheUrl = cache.url().replace("://", "://nix:" + files.readToken() + "@");
        cacheKey = files.publicKeyFile().toString();
      }
      // this host builds too, and a Build that names no cache pushes to this host's own, with its push token
      String extraNixConf = builds.extraNixConf();
      NodeAgent.Config agentConfig = AgentCommand.config(dir.toAbsolutePath().resolve("agent"), images, nodeName, agentListen,
          java.util.Map.of(), 40, cacheUrl, cacheKey)
          .withBuilds(cache == null || maxBuilds == 0 ? new NodeAgent.Builds(0, null, null)
              : new NodeAgent.Builds(maxBuilds, cache.url(), new CacheFiles(dir).pushToken(), extraNixConf, builds.allowUnsandboxedBuilds,
                  java.util.List.of(dir.toAbsolutePath())));
      // the agent is a node, system:node:NAME, with a short-lived certificate: a new one at each
      // start, asked for with the admin credential, renewed by the agent itself from then on, as a
      // joined node's is (so a node revoked meanwhile is this host's again after a restart)
      Path agentPki = dir.toAbsolutePath().resolve("agent").resolve("pki");
      try (KubernetesClient admin = KubeClients.fromKubeconfig(kubeconfig)) {
        NodeIdentity.issue(admin, agentConfig.name(), agentPki, certTtl);
      }
      NodeIdentity identity = NodeIdentity.obtain(url, pki.caPem(), agentConfig.name(), agentPki, null, certTtl, Clock.systemUTC());
      started.push(identity);
      KubernetesClient agentClient = identity.client();
      if (maxBuilds > 0) {
        // a node may not label itself a builder: the admin does, for this host's own node
        try (KubernetesClient admin = KubeClients.fromKubeconfig(kubeconfig)) {
          markBuilder(admin, agentConfig.name());
        }
      }
      AtomicReference<NodeAgent> agent = new AtomicReference<>();
      // the example guest is built (once) before the agent joins, so the quick start's VM boots at once
      Thread starter = Thread.ofPlatform().name("agent-start").start(() -> {
        try {
          ExampleGuest.ensure(images);
          if (cache != null) {
            // the examples boot the guest by name, from the cache, on this host and every host that joins
            try {
              ExampleGuest.publish(images, cache.url(), new CacheFiles(dir).pushToken(), dir.toAbsolutePath().resolve("example-guest"));
            } catch (IOException e) {
              System.err.println("warning: the example guest's closure is not in the cache, so the examples that boot it by name will wait: "
                  + e.getMessage());
            }
          }
          agent.set(AgentCommand.start(agentClient, agentConfig, identity.servingTls()));
          identity.onRenewal(agent.get()::updateServingCertificate);
          System.out.println("Node agent " + agentConfig.name() + " is up: logs and metrics at " + agent.get().endpoint());
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        } catch (Exception e) {
          System.err.println("error: the node agent did not start: " + Errors.describe(e));
        }
        System.out.flush();
      });
      started.push(() -> {
        starter.interrupt();
        if (agent.get() != null) {
          agent.get().close();
        }
      });
    }
    stopped.await();
    return 0;
  }

  static final String CONTROLLERS = "system:procurator-controllers";
  /** The user pctl up's Prometheus reads as. */
  static final String PROMETHEUS = "system:procurator-prometheus";
  static final String PROMETHEUS_BINDING = "procurator:prometheus";

  /** At install, Prometheus' user gets {@code system:monitoring}; an existing binding is left as it is. */
  static void bindPrometheus(KubernetesClient admin) {
    var bindings = admin.rbac().clusterRoleBindings();
    if (bindings.withName(PROMETHEUS_BINDING).get() != null) {
      return;
    }
    bindings.resource(new io.fabric8.kubernetes.api.model.rbac.ClusterRoleBindingBuilder()
        .withNewMetadata().withName(PROMETHEUS_BINDING).endMetadata()
        .withNewRoleRef("rbac.authorization.k8s.io", "ClusterRole", dev.procurator.apiserver.authz.DefaultRoles.MONITORING)
        .addNewSubject().withApiGroup("rbac.authorization.k8s.io").withKind("User").withName(PROMETHEUS).endSubject()
        .build()).create();
  }

  /**
   * Starts Alertmanager (with --alertmanager) and Prometheus, their data under {@code dir/alertmanager}
   * and {@code dir/prometheus}; a missing binary, or one that will not start, is warned about and
   * pctl up goes on without it.
   */
  private void startMonitoring(Path dir, String url, Path caFile, CacheServer cache, Deque<AutoCloseable> started) throws IOException {
    Optional<Path> binary = Monitoring.onPath("prometheus");
    if (binary.isEmpty()) {
      System.err.println("warning: Prometheus is not installed (no prometheus on the PATH), so nothing keeps the cluster's metrics and no alert"
          + " fires; install Debian's prometheus package (bin/pctl does), or pass --no-prometheus");
      return;
    }
    String alertmanager = null;
    if (alertmanagerWebhook != null) {
      Optional<Path> am = Monitoring.onPath("prometheus-alertmanager").or(() -> Monitoring.onPath("alertmanager"));
      if (am.isEmpty()) {
        System.err.println("warning: Alertmanager is not installed (no prometheus-alertmanager on the PATH), so alerts go nowhere;"
            + " install Debian's prometheus-alertmanager package");
      } else {
        Path amDir = dir.toAbsolutePath().resolve("alertmanager");
        PrivateFiles.privateDirectory(amDir);
        Monitoring.write(amDir.resolve("alertmanager.yml"), Monitoring.alertmanagerYaml(alertmanagerWebhook, alertGroupWait));
        Monitoring.Child a = Monitoring.Child.start("alertmanager", amDir, Monitoring.alertmanagerCommand(am.get(), amDir, alertmanagerListen));
        started.push(a);
        alertmanager = alertmanagerListen;
        System.out.println("Alertmanager: http://" + alertmanagerListen + " (alerts to " + alertmanagerWebhook + "; PID " + a.pid() + ")");
      }
    }
    Path promDir = dir.toAbsolutePath().resolve("prometheus");
    PrivateFiles.privateDirectory(promDir);
    Path rules = promDir.resolve("alerts.yml");
    Files.write(rules, Monitoring.alertRules());
    String cacheUrl = cache == null ? null : cache.url();
    Monitoring.write(promDir.resolve("prometheus.yml"), Monitoring.prometheusYaml(new Monitoring.ScrapeConfig(url, caFile.toAbsolutePath(),
        dir.toAbsolutePath().resolve("prometheus-token"), cacheUrl, new CacheFiles(dir).readTokenFile().toAbsolutePath(), metricsInterval,
        alertmanager), rules));
    Monitoring.Child p = Monitoring.Child.start("prometheus", promDir,
        Monitoring.prometheusCommand(binary.get(), promDir, prometheusListen, metricsRetention));
    started.push(p);
    System.out.println("Prometheus: http://" + prometheusListen + " (data in " + promDir + ", kept " + metricsRetention + "; PID " + p.pid() + ")");
  }

  /** Labels Node {@code name} {@code procurator.dev/builder=true}, creating it when it is not registered yet. */
  static void markBuilder(KubernetesClient admin, String name) {
    var nodes = admin.resources(dev.procurator.api.v1alpha1.Node.class);
    String label = dev.procurator.api.v1alpha1.BuildAgreements.BUILDER_LABEL;
    dev.procurator.api.v1alpha1.Node existing = nodes.withName(name).get();
    if (existing == null) {
      dev.procurator.api.v1alpha1.Node n = new dev.procurator.api.v1alpha1.Node();
      n.setMetadata(new io.fabric8.kubernetes.api.model.ObjectMetaBuilder().withName(name).withLabels(java.util.Map.of(label, "true")).build());
      n.setSpec(new dev.procurator.api.v1alpha1.NodeSpec(false, null));
      nodes.resource(n).create();
    } else if (!"true".equals(existing.getMetadata().getLabels().get(label))) {
      nodes.withName(name).patch(io.fabric8.kubernetes.client.dsl.base.PatchContext.of(io.fabric8.kubernetes.client.dsl.base.PatchType.JSON_MERGE),
          "{\"metadata\":{\"labels\":{\"" + label + "\":\"true\"}}}");
    }
  }

  /** One admin token per data directory, kept across restarts so kubeconfigs stay valid. */
  static String adminToken(Path dir) throws IOException {
    return secretFile(dir, "admin-token");
  }

  /** A random token kept in {@code dir/name} (0600), made on first use. */
  static String secretFile(Path dir, String name) throws IOException {
    Path file = dir.resolve(name);
    if (Files.exists(file)) {
      String t = Files.readString(file).trim();
      if (!t.isEmpty()) {
        return t;
      }
    }
    byte[] b = new byte[32];
    new SecureRandom().nextBytes(b);
    String token = HexFormat.of().formatHex(b);
    PrivateFiles.write(file, token + "\n");
    return token;
  }

  /** The RoleBinding that lets the default namespace's GitRepositories apply what a developer may. */
  static final String GITOPS_BINDING = "procurator:gitops";

  /**
   * At install, the GitRepositories of {@code default} get the {@code developer} role there, so a
   * repository applies workloads into its own namespace as a developer would; anything cluster-wide
   * or in another namespace needs an admin's binding. An existing binding is left as it is.
   */
  static void bindDefaultGitOps(KubernetesClient admin) {
    var bindings = admin.rbac().roleBindings().inNamespace("default");
    if (bindings.withName(GITOPS_BINDING).get() != null) {
      return;
    }
    bindings.resource(new io.fabric8.kubernetes.api.model.rbac.RoleBindingBuilder()
        .withNewMetadata().withName(GITOPS_BINDING).withNamespace("default").endMetadata()
        .withNewRoleRef("rbac.authorization.k8s.io", "ClusterRole", "developer")
        .addNewSubject().withApiGroup("rbac.authorization.k8s.io").withKind("Group")
        .withName(dev.procurator.api.v1alpha1.Identities.gitRepositoriesOf("default")).endSubject()
        .build()).create();
  }

  /** The BinaryCache that registers this host's own cache, so Builds may name it in {@code spec.cache}. */
  static final String OWN_CACHE = "pctl-up";

  /** BinaryCache {@code name} registers {@code url}: created, or its URL brought up to date (the cache may listen elsewhere now). */
  static void registerCache(KubernetesClient admin, String name, String url) {
    var caches = admin.resources(dev.procurator.api.v1alpha1.BinaryCache.class);
    dev.procurator.api.v1alpha1.BinaryCache existing = caches.withName(name).get();
    if (existing != null && existing.getSpec() != null && url.equals(existing.getSpec().url())) {
      return;
    }
    dev.procurator.api.v1alpha1.BinaryCache c = existing != null ? existing : new dev.procurator.api.v1alpha1.BinaryCache();
    if (existing == null) {
      c.setMetadata(new io.fabric8.kubernetes.api.model.ObjectMetaBuilder().withName(name).build());
    }
    c.setSpec(new dev.procurator.api.v1alpha1.BinaryCacheSpec(url));
    if (existing == null) {
      caches.resource(c).create();
    } else {
      caches.resource(c).update();
    }
  }

  static void writeKubeconfig(Path file, String url, String token, String caPem) throws IOException {
    PrivateFiles.write(file, Kubeconfigs.withToken(url, caPem, "admin", token));
  }
}
