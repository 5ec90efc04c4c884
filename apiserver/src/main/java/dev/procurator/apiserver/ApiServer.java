package dev.procurator.apiserver;

import dev.procurator.apiserver.auth.TokenAuthenticator;
import dev.procurator.apiserver.authz.DefaultRoles;
import dev.procurator.apiserver.registry.EventExpiry;
import dev.procurator.apiserver.registry.ResourceService;
import dev.procurator.apiserver.resource.ResourceRegistry;
import dev.procurator.apiserver.resource.ResourceType;
import dev.procurator.apiserver.rest.HttpApi;
import dev.procurator.apiserver.storage.EtcdStorage;
import dev.procurator.apiserver.storage.SqliteStorage;
import dev.procurator.apiserver.storage.Storage;
import dev.procurator.apiserver.watch.WatchCache;
import io.vertx.core.DeploymentOptions;
import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.net.OpenSSLEngineOptions;
import io.vertx.core.net.PemKeyCertOptions;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.slf4j.bridge.SLF4JBridgeHandler;

/**
 * One API server process: storage, watch caches, HTTP. {@link #start} returns once it listens;
 * {@link #close} stops it and releases everything it opened.
 */
public final class ApiServer implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(ApiServer.class);
  public static final String VERSION = "0.1.0";
  /** How long an Event is kept after it was last seen, as Kubernetes' --event-ttl default. */
  public static final Duration EVENT_TTL = Duration.ofHours(1);

  private final ApiServerConfig config;
  private final Clock clock;
  private Storage storage;
  private dev.procurator.apiserver.rest.AuditLog auditLog;
  private dev.procurator.apiserver.encryption.KeyRotation keyRotation;
  private dev.procurator.apiserver.auth.IssuedTokens issuedTokens;
  private dev.procurator.apiserver.auth.NodeIdentities nodeIdentities;
  private dev.procurator.apiserver.authz.Authorization authorization;
  private dev.procurator.apiserver.auth.Pki.ClientCertificate agentClientCert;
  private String agentCa;
  private Vertx vertx;
  private final List<HttpServer> servers = new ArrayList<>();
  private ExecutorService executor;
  private ScheduledExecutorService scheduler;
  private final Map<ResourceType, WatchCache> caches = new LinkedHashMap<>();
  private EventExpiry eventExpiry;
  private io.micrometer.prometheusmetrics.PrometheusMeterRegistry metrics;

  public ApiServer(ApiServerConfig config, Clock clock) {
    this.config = config;
    this.clock = clock;
  }

  /** Starts the server; blocks until it listens. */
  public ApiServer start() {
    if (!SLF4JBridgeHandler.isInstalled()) {
      SLF4JBridgeHandler.removeHandlersForRootLogger();
      SLF4JBridgeHandler.install();
    }
    ResourceRegistry registry = ResourceRegistry.standard();
    // each resource's key prefix and its name, as storage metrics label them
    Map<String, String> resources = new LinkedHashMap<>();
    registry.all().forEach(t -> resources.putIfAbsent(t.keyPrefix(null), t.qualifiedResource()));
    Storage raw = config.etcdEndpoints().isEmpty()
        ? SqliteStorage.open(config.dataDir())
        : EtcdStorage.connect(config.etcdEndpoints(), Duration.ofSeconds(10));
    if (config.metrics()) {
      metrics = new io.micrometer.prometheusmetrics.PrometheusMeterRegistry(io.micrometer.prometheusmetrics.PrometheusConfig.DEFAULT);
      raw = new dev.procurator.apiserver.metrics.MeteredStorage(raw, metrics, resources);
    }
    try {
      // Secrets are sealed at rest; without the key they need, the server does not start
      storage = config.encryptionKeyFile() == null ? raw
          : dev.procurator.apiserver.encryption.SecretsAtRest.open(raw, config.encryptionKeyFile());
    } catch (RuntimeException e) {
      raw.close();
      throw e;
    }
    scheduler = Executors.newScheduledThreadPool(1, Thread.ofPlatform().name("apiserver-timer").daemon(true).factory());
    for (ResourceType t : registry.all()) {
      WatchCache cache = new WatchCache(storage, t, config.watchCacheCapacity(), scheduler, config.bookmarkInterval());
      cache.start();
      caches.put(t, cache);
    }
    executor = Executors.newThreadPerTaskExecutor(Thread.ofVirtual().name("api-", 0).factory());
    vertx = Vertx.vertx();
    ResourceService service = new ResourceService(storage, clock);
    publishCrds(registry, service);
    eventExpiry = new EventExpiry(service, registry.find("", "v1", "events").orElseThrow(), EVENT_TTL, clock);
    scheduler.scheduleWithFixedDelay(this::expireEvents, 1, 1, TimeUnit.MINUTES);
    publishDefaultRoles(registry, service);
    if (metrics != null) {
      new dev.procurator.apiserver.metrics.StorageObjects(storage, metrics, resources).start(scheduler);
    }
    Map<String, dev.procurator.apiserver.auth.UserInfo> tokens = new java.util.HashMap<>(config.tokens());
    if (config.access().tokenAuthFile() != null) {
      dev.procurator.apiserver.auth.TokenFile.read(config.access().tokenAuthFile()).forEach(tokens::putIfAbsent);
    }
    issuedTokens = new dev.procurator.apiserver.auth.IssuedTokens(storage,
        registry.find("procurator.dev", "v1alpha1", "secrets").orElseThrow().keyPrefix(null), scheduler, clock).start();
    authorization = new dev.procurator.apiserver.authz.Authorization(config.access().rbac()).start(storage, registry, scheduler);
    if (config.access().clientCa() != null) {
      // which node certificates are still good: a deleted Node, or a revoked one, holds none
      nodeIdentities = new dev.procurator.apiserver.auth.NodeIdentities(storage, service, registry, scheduler).start();
    }
    if (config.access().clientCa() != null && config.access().clientCaKeyDir() != null) {
      var pki = dev.procurator.apiserver.auth.Pki.load(config.access().clientCaKeyDir());
      authorization.withNodeCertificates(new dev.procurator.apiserver.auth.NodeCertificates(pki, service, registry, issuedTokens,
          nodeIdentities, config.access().nodeCertTtl(), clock));
      agentClientCert = pki.issueClient(dev.procurator.apiserver.auth.Pki.API_SERVER_CLIENT, List.of(), Duration.ofDays(365));
      try {
        agentCa = pki.caPem();
      } catch (java.io.IOException e) {
        throw new java.io.UncheckedIOException("cannot read the cluster CA: " + e.getMessage(), e);
      }
    }
    HttpApi api = new HttpApi(vertx, registry, service, caches,
        dev.procurator.apiserver.auth.Authenticator.firstOf(List.of(new TokenAuthenticator(tokens), issuedTokens)), clock, executor,
        config.host() + ":" + config.port(), VERSION, config.watchQueueLimit())
        .withAuthorization(authorization)
        .withClientCertificates(config.tls() && config.access().clientCa() != null, nodeIdentities);
    if (agentClientCert != null) {
      api.withAgentTls(agentCa, agentClientCert.certPem(), agentClientCert.keyPem());
    }
    if (config.auditLog() != null) {
      auditLog = new dev.procurator.apiserver.rest.AuditLog(config.auditLog(), config.access().audit(), clock);
      api.withAuditLog(auditLog);
      if (metrics != null) {
        // kube-apiserver counts the events its buffered audit backend drops as errors of that plugin
        io.micrometer.core.instrument.FunctionCounter.builder("apiserver_audit_error", auditLog,
                dev.procurator.apiserver.rest.AuditLog::dropped)
            .description("Counter of audit events that failed to be audited properly (dropped: the audit buffer was full).")
            .tag("plugin", "buffered").register(metrics);
      }
    }
    if (metrics != null) {
      // what the objects say (Nodes ready, VMs' phases, rollouts rolled back, ...), read when a scrape asks
      Map<String, java.nio.file.Path> certificates = new LinkedHashMap<>();
      if (config.tlsCert() != null) {
        certificates.put("apiserver", config.tlsCert());
      }
      if (config.access().clientCa() != null) {
        certificates.put("ca", config.access().clientCa());
      }
      var state = new dev.procurator.apiserver.metrics.ObjectState(metrics, (group, resource) -> registry.find(group, "v1alpha1", resource)
          .map(t -> service.list(t, null, new dev.procurator.apiserver.registry.ListOptions(dev.procurator.apiserver.registry.LabelSelector.EVERYTHING,
              dev.procurator.apiserver.registry.FieldSelector.EVERYTHING, 0, null, null)).items())
          .orElse(List.of()), certificates, clock);
      api.withMetrics(metrics, state::refresh);
    }
    if (storage instanceof dev.procurator.apiserver.encryption.EncryptingStorage sealed) {
      // a rotation that a restart cut short is finished now
      keyRotation = new dev.procurator.apiserver.encryption.KeyRotation(sealed, config.encryptionKeyFile()).resume();
      api.withKeyRotation(keyRotation);
    }
    HttpServerOptions options = new HttpServerOptions()
        .setHost(config.host())
        .setPort(config.port())
        .setCompressionSupported(true)
        .setMaxInitialLineLength(16 * 1024)
        .setMaxHeaderSize(64 * 1024);
    if (config.tls()) {
      // HTTP/2 by ALPN, as kubectl and client-go prefer; HTTP/1.1 (and WebSocket watches) otherwise
      if (OpenSSLEngineOptions.isAvailable()) {
        options.setSslEngineOptions(new OpenSSLEngineOptions());
      }
      options.setSsl(true).setUseAlpn(true).setKeyCertOptions(new PemKeyCertOptions()
          .setCertPath(config.tlsCert().toString()).setKeyPath(config.tlsKey().toString()));
      if (config.access().clientCa() != null) {
        // a client certificate is asked for, not required: tokens work beside it
        options.setClientAuth(io.vertx.core.http.ClientAuth.REQUEST)
            .setTrustOptions(new io.vertx.core.net.PemTrustOptions().addCertPath(config.access().clientCa().toString()));
      }
    }
    // One server per core, each deployed on its own event loop, sharing the port: Vert.x spreads
    // the connections over them, so TLS and HTTP use every core rather than one event loop.
    // Vert.x shares a port only among servers that ask for the same one, so port 0 (any free
    // port, as tests ask) gets one server.
    int instances = config.port() == 0 ? 1 : Runtime.getRuntime().availableProcessors();
    List<HttpServer> listening = new CopyOnWriteArrayList<>();
    vertx.deployVerticle(() -> new VerticleBase() {
      @Override
      public Future<?> start() {
        return vertx.createHttpServer(options).requestHandler(api.router()).listen().onSuccess(listening::add);
      }
    }, new DeploymentOptions().setInstances(instances)).await();
    servers.addAll(listening);
    scheduleCompaction();
    log.info("API server listening on {} ({} store)", url(),
        config.etcdEndpoints().isEmpty() ? "embedded " + config.dataDir() : "etcd " + String.join(",", config.etcdEndpoints()));
    return this;
  }

  /** Keeps one compaction interval of history: each run compacts to the revision the previous run saw. */
  /**
   * Writes the CRDs of the kinds this server serves, so that {@code kubectl get crd} lists them;
   * one that is stored already is replaced only when it changed (a newer server).
   */
  private static void publishCrds(ResourceRegistry registry, ResourceService service) {
    ResourceType type = registry.find(ResourceRegistry.CRD_GROUP, "v1", "customresourcedefinitions").orElseThrow();
    for (var crd : registry.crds()) {
      com.fasterxml.jackson.databind.node.ObjectNode body = dev.procurator.apiserver.registry.Json.MAPPER.valueToTree(crd);
      body.put("apiVersion", ResourceRegistry.CRD_GROUP + "/v1").put("kind", "CustomResourceDefinition");
      body.remove("status");
      ensure(service, type, body, stored -> stored.path("spec").equals(body.path("spec")));
    }
  }

  /**
   * Writes the default ClusterRoles and the controllers' binding, as Kubernetes reconciles its
   * bootstrap policy: missing ones are created, changed ones put back, unless an admin set
   * {@code rbac.authorization.kubernetes.io/autoupdate: "false"} on one.
   */
  private static void publishDefaultRoles(ResourceRegistry registry, ResourceService service) {
    ResourceType roles = registry.find("rbac.authorization.k8s.io", "v1", "clusterroles").orElseThrow();
    ResourceType bindings = registry.find("rbac.authorization.k8s.io", "v1", "clusterrolebindings").orElseThrow();
    java.util.function.Predicate<com.fasterxml.jackson.databind.node.ObjectNode> pinned =
        stored -> "false".equals(stored.path("metadata").path("annotations").path(DefaultRoles.AUTOUPDATE).asText());
    for (var role : DefaultRoles.clusterRoleObjects()) {
      ensure(service, roles, role, stored -> pinned.test(stored) || stored.path("rules").equals(role.path("rules")));
    }
    var binding = DefaultRoles.controllersBinding();
    ensure(service, bindings, binding, stored -> pinned.test(stored)
        || (stored.path("subjects").equals(binding.path("subjects")) && stored.path("roleRef").equals(binding.path("roleRef"))));
  }

  /** Creates {@code body}, or replaces the stored object with it unless {@code current} says it is as wanted; races are retried. */
  private static void ensure(ResourceService service, ResourceType type, com.fasterxml.jackson.databind.node.ObjectNode body,
      java.util.function.Predicate<com.fasterxml.jackson.databind.node.ObjectNode> current) {
    String name = body.path("metadata").path("name").asText();
    for (int attempt = 0; attempt < 3; attempt++) {
      try {
        com.fasterxml.jackson.databind.node.ObjectNode stored = service.get(type, null, name);
        if (current.test(stored)) {
          break;
        }
        com.fasterxml.jackson.databind.node.ObjectNode next = body.deepCopy();
        ((com.fasterxml.jackson.databind.node.ObjectNode) next.get("metadata")).put("resourceVersion",
            stored.path("metadata").path("resourceVersion").asText());
        service.update(type, null, name, next, false, dev.procurator.apiserver.registry.WriteOptions.DEFAULT);
        break;
      } catch (dev.procurator.apiserver.registry.ApiException e) {
        if (e.code() != 404 && e.code() != 409) {
          throw e;
        }
        if (e.code() == 404) {
          try {
            service.create(type, null, body.deepCopy(), dev.procurator.apiserver.registry.WriteOptions.DEFAULT);
            break;
          } catch (dev.procurator.apiserver.registry.ApiException again) {
            if (again.code() != 409) {
              throw again;
            }
          }
        }
      }
    }
  }

  private void scheduleCompaction() {
    AtomicLong previous = new AtomicLong(0);
    long every = config.compactionInterval().toMillis();
    scheduler.scheduleWithFixedDelay(() -> {
      try {
        long target = previous.getAndSet(storage.currentRevision());
        if (target > 0) {
          compact(target);
          log.debug("compacted history up to revision {}", target);
        }
      } catch (RuntimeException e) {
        log.warn("compaction failed: {}", e.toString());
      }
    }, every, every, TimeUnit.MILLISECONDS);
  }

  /** Deletes the Events last seen more than {@link #EVENT_TTL} ago; returns how many. */
  public int expireEvents() {
    try {
      return eventExpiry.sweep();
    } catch (RuntimeException e) {
      log.warn("expiring events failed: {}", e.toString());
      return 0;
    }
  }

  /** Forgets history up to {@code revision}, in storage and in the watch caches. */
  public void compact(long revision) {
    storage.compact(revision);
    caches.values().forEach(c -> c.compacted(revision));
  }

  public int port() {
    return servers.get(0).actualPort();
  }

  public String url() {
    String host = config.host().contains(":") ? "[" + config.host() + "]" : config.host();
    return (config.tls() ? "https://" : "http://") + host + ":" + port();
  }

  public Storage storage() {
    return storage;
  }

  /**
   * What this server measures, served at {@code /metrics}; null when metrics are off. What else
   * runs in this process (the controllers under {@code pctl up}) may register its meters here, to
   * be scraped with the server's.
   */
  public io.micrometer.prometheusmetrics.PrometheusMeterRegistry metrics() {
    return metrics;
  }

  @Override
  public void close() {
    for (HttpServer server : servers) {
      server.close().await();
    }
    caches.values().forEach(WatchCache::close);
    if (authorization != null) {
      authorization.close();
    }
    if (issuedTokens != null) {
      issuedTokens.close();
    }
    if (nodeIdentities != null) {
      nodeIdentities.close();
    }
    if (scheduler != null) {
      scheduler.shutdownNow();
    }
    if (executor != null) {
      executor.shutdownNow();
    }
    if (vertx != null) {
      vertx.close().await();
    }
    if (auditLog != null) {
      auditLog.close();
    }
    if (keyRotation != null) {
      keyRotation.close();
    }
    if (storage != null) {
      storage.close();
    }
    if (metrics != null) {
      metrics.close();
    }
  }
}
