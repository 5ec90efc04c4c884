package dev.procurator.pctl;

import dev.procurator.nodeagent.NodeAgent;
import dev.procurator.nodeagent.vm.BootResolver;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParentCommand;

/** Runs a node agent for this host in the foreground: the way a host joins a cluster. */
@Command(name = "agent", mixinStandardHelpOptions = true,
    description = "Run the node agent for this host in the foreground: register a Node and run the VMs bound to it.")
final class AgentCommand implements Callable<Integer> {
  @ParentCommand Pctl global;

  @Option(names = "--name", description = "Node name (default: this host's name).") String name;

  @Option(names = "--data-dir", required = true, description = "Where the agent keeps its VMs' working directories.") Path dataDir;

  @Option(names = "--images-dir", description = "Where relative kernel and initrd paths are found (default: DATA_DIR/images).")
  Path imagesDir;

  @Option(names = "--listen", defaultValue = "127.0.0.1:0",
      description = "host:port for logs and metrics (default: ${DEFAULT-VALUE}, a free port).")
  String listen;

  @Option(names = {"-l", "--labels"}, split = ",",
      description = "Node labels, key=value[,key=value...]; a node with its own certificate may set none under procurator.dev/.")
  Map<String, String> labels = new LinkedHashMap<>();

  @Option(names = "--lease-duration", defaultValue = "40", description = "Seconds the node lease lasts without renewal (default: ${DEFAULT-VALUE}).")
  int leaseSeconds;

  @Option(names = "--cache-url", description = "Binary cache closures are pulled from, such as http://nix:TOKEN@127.0.0.1:7444.")
  String cacheUrl;

  @Option(names = "--cache-public-key", description = "The cache's signing key (NAME:BASE64), or a file holding it.")
  String cacheKey;

  @Option(names = "--tap-bridge", description = "Bridge that VMs in network mode tap join (none: tap VMs fail with the reason).")
  String tapBridge;

  @Option(names = "--cpu-overcommit", defaultValue = "4",
      description = "vCPUs the scheduler may place per host CPU (default: ${DEFAULT-VALUE}); memory is never overcommitted.")
  int cpuOvercommit;

  @Option(names = "--netns", description = "Network namespace the tap bridge lives in; tap VMs run in it too.")
  String netns;

  @Option(names = "--max-builds", defaultValue = "1",
      description = "Builds this node runs at once once an admin labels it procurator.dev/builder=true (default: ${DEFAULT-VALUE}; 0: none).")
  int maxBuilds;

  @Option(names = "--build-cache-url", description = "The binary cache a Build that names none pushes to, such as http://127.0.0.1:7444.")
  String buildCacheUrl;

  @Option(names = "--build-push-token-file", description = "A file holding that cache's push token (read once; never logged).")
  Path buildPushTokenFile;

  @Mixin BuildSandboxOptions builds;

  @Option(names = "--join", description = "A one-time join token ('pctl token create --join'): the node gets its own certificate with it, "
      + "kept in DATA_DIR/pki and renewed before it expires. Needs --server and --ca-file.")
  String joinToken;

  @Option(names = "--join-token-file", description = "A file holding the join token (kept out of the process list).")
  Path joinTokenFile;

  @Option(names = "--ca-file", description = "The cluster CA certificate (PEM) the API server is checked against when joining, and the API server's"
      + " own client certificate when it reads logs here (default with --kubeconfig: the CA the kubeconfig trusts).")
  Path caFile;

  @Option(names = "--cert-ttl", defaultValue = "24h",
      description = "Lifetime asked for the node's certificates (default: ${DEFAULT-VALUE}; the API server's --node-cert-ttl caps it); renewed at 70%%.")
  String certTtl;

  @Override
  public Integer call() throws Exception {
    NodeAgent.Config config;
    try {
      config = config(dataDir, imagesDir, name, listen, labels, leaseSeconds, cacheUrl, cacheKey).withCpuOvercommit(cpuOvercommit);
    } catch (IllegalArgumentException e) {
      throw new Errors.UserError(e.getMessage());
    }
    Path pkiDir = dataDir.toAbsolutePath().resolve("pki");
    if (joinToken == null && joinTokenFile != null && !Files.exists(pkiDir.resolve("node.crt"))) {
      joinToken = Files.readString(joinTokenFile).strip();
    }
    NodeIdentity identity = null;
    KubernetesClient client;
    if (joinToken != null || Files.exists(pkiDir.resolve("node.crt"))) {
      // the node's own identity: a certificate got by joining, renewed by itself
      if (global.server == null || caFile == null) {
        throw new Errors.UserError("a node with its own certificate needs --server URL and --ca-file CA.crt");
      }
      // as a kubelet's --node-labels: a node may not give itself the labels admins set
      for (String key : labels.keySet()) {
        if (dev.procurator.api.v1alpha1.NodeAgreements.adminLabel(key)) {
          throw new Errors.UserError("--labels " + key + ": labels under procurator.dev/ are set by a cluster admin, not by the node"
              + " (kubectl label nodes.procurator.dev " + config.name() + " " + key + "=VALUE)");
        }
      }
      java.time.Duration ttl = TokenCommand.parseTtl(certTtl);
      identity = NodeIdentity.obtain(global.server, Files.readString(caFile), config.name(), pkiDir, joinToken,
          ttl == null ? java.time.Duration.ofHours(24) : ttl, Clock.systemUTC());
      client = identity.client();
    } else {
      client = KubeClients.fromKubeconfig(KubeClients.kubeconfigOf(global));
    }
    // with a kubeconfig, the logs endpoint still serves TLS: a certificate of this node asked for with its credential
    ServingCertificate serving = null;
    if (identity == null) {
      java.time.Duration ttl = TokenCommand.parseTtl(certTtl);
      try {
        serving = ServingCertificate.obtain(client, config.name(), caFile, ttl == null ? java.time.Duration.ofHours(24) : ttl, Clock.systemUTC());
      } catch (RuntimeException | java.io.IOException e) {
        client.close();
        throw e;
      }
    }
    ServingCertificate ownServing = serving;
    NodeIdentity ownIdentity = identity;
    String pushToken = buildPushTokenFile == null ? null : Files.readString(buildPushTokenFile).strip();
    try {
      config = config.withBuilds(new NodeAgent.Builds(maxBuilds, buildCacheUrl, pushToken,
          builds.extraNixConf(), builds.allowUnsandboxedBuilds, java.util.List.of()));
    } catch (IllegalArgumentException e) {
      throw new Errors.UserError(e.getMessage());
    }
    if (tapBridge != null) {
      config = config.withTap(tapBridge, netns);
    } else if (netns != null) {
      throw new Errors.UserError("--netns needs --tap-bridge");
    }
    // the hook first: a stop that comes while the agent starts still closes what it opened
    CountDownLatch stopped = new CountDownLatch(1);
    java.util.concurrent.atomic.AtomicReference<NodeAgent> running = new java.util.concurrent.atomic.AtomicReference<>();
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      NodeAgent a = running.get();
      if (a != null) {
        try {
          a.close();
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
      }
      if (ownServing != null) {
        ownServing.close();
      }
      if (ownIdentity != null) {
        ownIdentity.close();
      } else {
        client.close();
      }
      stopped.countDown();
    }, "agent-shutdown"));
    // a node with its own certificate serves its logs endpoint with it, and renews both together
    NodeAgent agent = start(client, config, identity != null ? identity.servingTls() : serving.tls());
    running.set(agent);
    if (identity != null) {
      identity.onRenewal(agent::updateServingCertificate);
    } else {
      serving.onRenewal(agent::updateServingCertificate);
    }
    System.out.println("Node agent " + agent.name() + " is up: logs and metrics at " + agent.endpoint());
    System.out.flush();
    stopped.await();
    return 0;
  }

  /** An agent whose logs endpoint serves TLS with {@code tls} (null: plain HTTP, which the API server does not proxy logs to). */
  static NodeAgent start(KubernetesClient client, NodeAgent.Config config, dev.procurator.nodeagent.http.AgentHttp.Tls tls) throws Exception {
    return new NodeAgent(client, config, Clock.systemUTC()).withServingTls(tls).start();
  }

  static NodeAgent.Config config(Path dataDir, Path imagesDir, String name, String listen, Map<String, String> labels,
      int leaseSeconds, String cacheUrl, String cacheKey) throws Exception {
    String node = name != null ? name : hostName();
    HostPort hp = HostPort.parse("--listen", listen);
    NodeAgent.Config c;
    try {
      c = NodeAgent.Config.of(node, dataDir.toAbsolutePath());
    } catch (IllegalArgumentException e) {
      throw new Errors.UserError(e.getMessage() + "; pass --name");
    }
    c = c.withLabels(labels).withListen(new InetSocketAddress(hp.host(), hp.port())).withLeaseDuration(Duration.ofSeconds(leaseSeconds));
    if (imagesDir != null) {
      c = c.withImagesDir(imagesDir.toAbsolutePath());
    }
    if (cacheUrl != null) {
      String key = cacheKey;
      if (key != null && Files.isRegularFile(Path.of(key))) {
        key = Files.readString(Path.of(key)).trim();
      }
      c = c.withCache(new BootResolver.NixCache(cacheUrl, key, null));
    }
    return c;
  }

  /** This host's name as a DNS-1123 node name. */
  static String hostName() {
    String h;
    try {
      h = java.net.InetAddress.getLocalHost().getHostName();
    } catch (java.net.UnknownHostException e) {
      h = System.getenv().getOrDefault("HOSTNAME", "node");
    }
    String n = h.toLowerCase(java.util.Locale.ROOT).replaceAll("[^a-z0-9.-]", "-").replaceAll("^[-.]+|[-.]+$", "");
    return n.isEmpty() ? "node" : n;
  }
}
