package dev.procurator.apiserver;

import dev.procurator.apiserver.auth.UserInfo;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * How to run an API server.
 *
 * @param host address to listen on (127.0.0.1 unless the server must be reached from elsewhere)
 * @param port port to listen on; 0 picks a free one
 * @param dataDir directory of the embedded store; ignored when {@code etcdEndpoints} is non-empty
 * @param etcdEndpoints etcd client URLs such as {@code http://127.0.0.1:2379}; empty for the embedded store
 * @param tokens bearer tokens and the users they stand for
 * @param watchCacheCapacity events each resource type's watch cache keeps
 * @param watchQueueLimit events a client watch may have waiting before it is cut off with 410
 * @param bookmarkInterval how often watches that asked for bookmarks get one
 * @param compactionInterval how often history older than one interval is compacted
 * @param tlsCert PEM serving certificate, or null to serve plain HTTP
 * @param tlsKey PEM private key of {@code tlsCert}
 * @param encryptionKeyFile the key file Secrets are sealed under at rest (created, 0600, when missing and no Secret is sealed yet)
 * @param auditLog the audit log's file (JSON lines), or null for none
 * @param access token file, client certificates and authorization
 * @param metrics serve {@code /metrics} and {@code /sd/prometheus} and measure requests and storage (off: neither, and nothing is measured)
 */
public record ApiServerConfig(
    String host,
    int port,
    Path dataDir,
    List<String> etcdEndpoints,
    Map<String, UserInfo> tokens,
    int watchCacheCapacity,
    int watchQueueLimit,
    Duration bookmarkInterval,
    Duration compactionInterval,
    Path tlsCert,
    Path tlsKey,
    Path encryptionKeyFile,
    Path auditLog,
    Access access,
    boolean metrics) {

  /**
   * Who may call, beyond the tokens above.
   *
   * @param tokenAuthFile a kube-apiserver style token file (CSV {@code token,user,uid,"group1,group2"}), or null
   * @param clientCa accept client certificates signed by this CA (PEM), or null for none
   * @param rbac decide requests by RBAC and the node authorizer; off lets every authenticated user do anything
   * @param clientCaKeyDir the folder of the CA's key ({@code ca.key} beside {@code ca.crt}), to sign nodes'
   *     certificates as they join and renew; null: this server signs none
   * @param nodeCertTtl how long the node certificates this server signs last (a node may ask for less)
   */
  public record Access(Path tokenAuthFile, Path clientCa, boolean rbac, Path clientCaKeyDir, AuditPolicy audit, Duration nodeCertTtl) {
    public static final Access DEFAULT = new Access(null, null, true, null, AuditPolicy.DEFAULT, null);

    public Access {
      audit = audit == null ? AuditPolicy.DEFAULT : audit;
      nodeCertTtl = nodeCertTtl == null ? dev.procurator.apiserver.auth.NodeCertificates.DEFAULT : nodeCertTtl;
      if (nodeCertTtl.compareTo(dev.procurator.apiserver.auth.NodeCertificates.MIN) < 0) {
        throw new IllegalArgumentException("node certificates must last at least "
            + dev.procurator.apiserver.auth.NodeCertificates.MIN.toSeconds() + " seconds");
      }
    }

    public Access(Path tokenAuthFile, Path clientCa, boolean rbac) {
      this(tokenAuthFile, clientCa, rbac, null, AuditPolicy.DEFAULT, null);
    }

    public Access(Path tokenAuthFile, Path clientCa, boolean rbac, Path clientCaKeyDir) {
      this(tokenAuthFile, clientCa, rbac, clientCaKeyDir, AuditPolicy.DEFAULT, null);
    }

    public Access withAudit(AuditPolicy a) {
      return new Access(tokenAuthFile, clientCa, rbac, clientCaKeyDir, a, nodeCertTtl);
    }

    public Access withNodeCertTtl(Duration ttl) {
      return new Access(tokenAuthFile, clientCa, rbac, clientCaKeyDir, audit, ttl);
    }
  }

  /**
   * What the audit log records and how it is written.
   *
   * @param allReads log every read too (Secrets' reads and every write are always logged)
   * @param maxBytes rotate the file past this size, keeping {@code backups} older files ({@code audit.log.1} newest)
   * @param buffer lines waiting for the writer at most
   * @param dropWhenFull when the buffer is full: drop the line and count it (true), or block (false: the request
   *     that made the line writes it itself, so none is lost)
   */
  public record AuditPolicy(boolean allReads, long maxBytes, int backups, int buffer, boolean dropWhenFull) {
    public static final AuditPolicy DEFAULT = new AuditPolicy(false, 100L << 20, 5, 10_000, false);
  }

  public ApiServerConfig {
    Objects.requireNonNull(host, "host");
    access = access == null ? Access.DEFAULT : access;
    etcdEndpoints = List.copyOf(etcdEndpoints);
    tokens = Map.copyOf(tokens);
    if (etcdEndpoints.isEmpty()) {
      Objects.requireNonNull(dataDir, "dataDir is needed for the embedded store");
    }
    if (watchQueueLimit < 1) {
      throw new IllegalArgumentException("watchQueueLimit must be positive");
    }
    if (watchCacheCapacity < 100) {
      throw new IllegalArgumentException("watchCacheCapacity must be at least 100");
    }
  }

  /** Defaults for one host: embedded store in {@code dataDir}, one admin token. */
  public static ApiServerConfig embedded(String host, int port, Path dataDir, String adminToken) {
    return new ApiServerConfig(host, port, dataDir, List.of(), Map.of(adminToken, new UserInfo("admin", List.of("system:masters"))),
        10_000, 1024, Duration.ofSeconds(10), Duration.ofMinutes(5), null, null, dataDir.resolve("encryption-key"), dataDir.resolve("audit.log"), Access.DEFAULT, true);
  }

  /** Audit to {@code file} (null: no audit log). */
  public ApiServerConfig withAuditLog(Path file) {
    return new ApiServerConfig(host, port, dataDir, etcdEndpoints, tokens, watchCacheCapacity, watchQueueLimit, bookmarkInterval,
        compactionInterval, tlsCert, tlsKey, encryptionKeyFile, file, access, metrics);
  }

  /** Seal Secrets under the keys in {@code file} (see {@link dev.procurator.apiserver.encryption.LocalKeyFile}). */
  public ApiServerConfig withEncryptionKeyFile(Path file) {
    return new ApiServerConfig(host, port, dataDir, etcdEndpoints, tokens, watchCacheCapacity, watchQueueLimit, bookmarkInterval,
        compactionInterval, tlsCert, tlsKey, file, auditLog, access, metrics);
  }

  public ApiServerConfig withEtcd(List<String> endpoints) {
    return new ApiServerConfig(host, port, dataDir, endpoints, tokens, watchCacheCapacity, watchQueueLimit, bookmarkInterval, compactionInterval,
        tlsCert, tlsKey, encryptionKeyFile, auditLog, access, metrics);
  }

  public ApiServerConfig withWatchCacheCapacity(int capacity) {
    return new ApiServerConfig(host, port, dataDir, etcdEndpoints, tokens, capacity, watchQueueLimit, bookmarkInterval, compactionInterval,
        tlsCert, tlsKey, encryptionKeyFile, auditLog, access, metrics);
  }

  public ApiServerConfig withWatchQueueLimit(int limit) {
    return new ApiServerConfig(host, port, dataDir, etcdEndpoints, tokens, watchCacheCapacity, limit, bookmarkInterval,
        compactionInterval, tlsCert, tlsKey, encryptionKeyFile, auditLog, access, metrics);
  }

  public ApiServerConfig withBookmarkInterval(Duration interval) {
    return new ApiServerConfig(host, port, dataDir, etcdEndpoints, tokens, watchCacheCapacity, watchQueueLimit, interval, compactionInterval,
        tlsCert, tlsKey, encryptionKeyFile, auditLog, access, metrics);
  }

  public ApiServerConfig withCompactionInterval(Duration interval) {
    return new ApiServerConfig(host, port, dataDir, etcdEndpoints, tokens, watchCacheCapacity, watchQueueLimit, bookmarkInterval, interval,
        tlsCert, tlsKey, encryptionKeyFile, auditLog, access, metrics);
  }

  public ApiServerConfig withTls(Path cert, Path key) {
    return new ApiServerConfig(host, port, dataDir, etcdEndpoints, tokens, watchCacheCapacity, watchQueueLimit, bookmarkInterval,
        compactionInterval, cert, key, encryptionKeyFile, auditLog, access, metrics);
  }

  /** These settings with one more bearer token, standing for {@code user}. */
  public ApiServerConfig withToken(String token, UserInfo user) {
    Map<String, UserInfo> all = new java.util.HashMap<>(tokens);
    all.put(token, user);
    return new ApiServerConfig(host, port, dataDir, etcdEndpoints, all, watchCacheCapacity, watchQueueLimit, bookmarkInterval,
        compactionInterval, tlsCert, tlsKey, encryptionKeyFile, auditLog, access, metrics);
  }

  public ApiServerConfig withAccess(Access a) {
    return new ApiServerConfig(host, port, dataDir, etcdEndpoints, tokens, watchCacheCapacity, watchQueueLimit, bookmarkInterval,
        compactionInterval, tlsCert, tlsKey, encryptionKeyFile, auditLog, a, metrics);
  }

  /** These settings with metrics served and measured ({@code true}, the default) or not. */
  public ApiServerConfig withMetrics(boolean on) {
    return new ApiServerConfig(host, port, dataDir, etcdEndpoints, tokens, watchCacheCapacity, watchQueueLimit, bookmarkInterval,
        compactionInterval, tlsCert, tlsKey, encryptionKeyFile, auditLog, access, on);
  }

  public boolean tls() {
    return tlsCert != null;
  }
}
