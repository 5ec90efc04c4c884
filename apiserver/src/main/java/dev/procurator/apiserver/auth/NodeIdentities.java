package dev.procurator.apiserver.auth;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.procurator.apiserver.registry.ApiException;
import dev.procurator.apiserver.registry.Json;
import dev.procurator.apiserver.registry.ResourceService;
import dev.procurator.apiserver.registry.WriteOptions;
import dev.procurator.apiserver.resource.ResourceRegistry;
import dev.procurator.apiserver.resource.ResourceType;
import dev.procurator.apiserver.storage.Storage;
import dev.procurator.apiserver.watch.ObjectIndex;
import java.nio.charset.StandardCharsets;
import java.security.cert.CertificateParsingException;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Which node certificates are still good. A node's identity is a Secret {@code node-NAME} in
 * {@value #NAMESPACE}, which this server writes as it signs the node's first certificate (the
 * node joins, or an admin asks for its certificate); every certificate it signs for the node
 * names that Secret's uid, as a URI subject alternative name {@value #URI_PREFIX}UID. A node's
 * certificate is accepted only while the Secret exists with that uid, so deleting it ({@code pctl
 * node revoke NAME}), or deleting the Node, refuses every certificate the node holds from then on,
 * on every API server and across restarts; a node that joins again gets a new identity, and only
 * its new certificates work. A certificate for a node name without such a name is refused too.
 *
 * <p>The Secrets are followed in memory: a delete through this server returns once the index has
 * let it go (another server follows it a watch event later), and an identity this server makes is
 * in the index before the certificate that names it is handed out. Open watches of a revoked node
 * are ended. Thread-safe.
 */
public final class NodeIdentities implements AutoCloseable {
  public static final String NAMESPACE = IssuedTokens.NAMESPACE;
  public static final String PREFIX = "node-";
  public static final String URI_PREFIX = "urn:procurator:node-identity:";
  private static final Duration SETTLE = Duration.ofSeconds(10);

  private final ResourceService service;
  private final ResourceType secrets;
  private final ResourceType nodes;
  private final ObjectIndex<String> index;
  private final Object changed = new Object();
  /** Open watches of nodes, each ended when its node's identity is no longer the one it authenticated with. */
  private final Map<Long, Holder> holders = new ConcurrentHashMap<>();
  private final AtomicLong ids = new AtomicLong();

  private record Holder(String node, String uid, Runnable end) {}

  public NodeIdentities(Storage storage, ResourceService service, ResourceRegistry registry, ScheduledExecutorService scheduler) {
    this.service = service;
    this.secrets = registry.find("procurator.dev", "v1alpha1", "secrets").orElseThrow();
    this.nodes = registry.find("procurator.dev", "v1alpha1", "nodes").orElseThrow();
    this.index = new ObjectIndex<>(storage, secrets.keyPrefix(null) + NAMESPACE + "/" + PREFIX,
        o -> o.path("metadata").path("uid").asText(null), scheduler);
  }

  /** Lists the identities and follows them; revokes a node's whenever its Node is deleted through {@code service}. */
  public NodeIdentities start() {
    index.onChange(this::changed);
    index.start();
    service.onDelete((type, namespace, name) -> {
      if (type.equals(nodes)) {
        revoke(name);
      } else if (type.equals(secrets) && NAMESPACE.equals(namespace) && name.startsWith(PREFIX)) {
        awaitIndex(name.substring(PREFIX.length()), null);
      }
    });
    return this;
  }

  private void changed() {
    synchronized (changed) {
      changed.notifyAll();
    }
    for (var e : holders.entrySet()) {
      Holder h = e.getValue();
      if (!h.uid().equals(current(h.node())) && holders.remove(e.getKey()) != null) {
        h.end().run();
      }
    }
  }

  /** The uid node {@code node}'s certificates must name now, or null when it has no identity (never joined, or revoked). */
  public String current(String node) {
    return index.get(index.prefixKey(node));
  }

  /**
   * A new identity for {@code node}, replacing the one it had (whose certificates are refused
   * from now on): for a host that joins. Returns the uid to sign into its certificate. Blocking.
   */
  public String replace(String node) {
    revoke(node);
    return make(node);
  }

  /** The node's identity, made when it has none: for an admin asking a certificate for a node. Blocking. */
  public String ensure(String node) {
    String uid = current(node);
    return uid != null ? uid : make(node);
  }

  private String make(String node) {
    ObjectNode secret = Json.object();
    secret.put("apiVersion", secrets.apiVersion()).put("kind", secrets.kind());
    ObjectNode meta = secret.putObject("metadata");
    meta.put("name", PREFIX + node).put("namespace", NAMESPACE);
    meta.putObject("labels").put("procurator.dev/node-identity", "true");
    meta.putObject("annotations").put("procurator.dev/node", node);
    secret.putObject("spec").putObject("data").put("node", Base64.getEncoder().encodeToString(node.getBytes(StandardCharsets.UTF_8)));
    String uid;
    try {
      uid = service.create(secrets, NAMESPACE, secret, WriteOptions.DEFAULT).object().path("metadata").path("uid").asText();
    } catch (ApiException e) {
      if (e.code() != 409) {
        throw e;
      }
      // made at once by another request: theirs it is
      uid = service.get(secrets, NAMESPACE, PREFIX + node).path("metadata").path("uid").asText();
    }
    awaitIndex(node, uid);
    return uid;
  }

  /**
   * Refuses every certificate of {@code node} from now on. Returns whether it had an identity;
   * returns once this server refuses them. Blocking.
   */
  public boolean revoke(String node) {
    try {
      service.delete(secrets, NAMESPACE, PREFIX + node, null, false);
      return true;
    } catch (ApiException e) {
      if (e.code() != 404) {
        throw e;
      }
      awaitIndex(node, null);
      return false;
    }
  }

  /** Waits, a few seconds at most, until the index holds {@code uid} for {@code node} (null: holds none). */
  private void awaitIndex(String node, String uid) {
    long deadline = System.nanoTime() + SETTLE.toNanos();
    synchronized (changed) {
      while (!java.util.Objects.equals(uid, current(node))) {
        long left = deadline - System.nanoTime();
        if (left <= 0) {
          throw ApiException.unavailable("the identity of node \"" + node + "\" was written but this server has not seen it yet; try again");
        }
        try {
          TimeUnit.NANOSECONDS.timedWait(changed, left);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          throw ApiException.unavailable("interrupted while waiting for the identity of node \"" + node + "\"");
        }
      }
    }
  }

  /** The node {@code user} is, when it claims to be one (CN system:node:NAME, or in system:nodes); else null. */
  public static String claimedNode(UserInfo user) {
    if (user.name().startsWith("system:node:")) {
      return user.name().substring("system:node:".length());
    }
    return user.groups().contains("system:nodes") ? "" : null;
  }

  /** The identity uid {@code cert} names, or null. */
  public static String uidOf(X509Certificate cert) {
    try {
      var names = cert.getSubjectAlternativeNames();
      if (names == null) {
        return null;
      }
      for (List<?> n : names) {
        if (Integer.valueOf(6).equals(n.get(0)) && n.get(1) instanceof String uri && uri.startsWith(URI_PREFIX)) {
          return uri.substring(URI_PREFIX.length());
        }
      }
      return null;
    } catch (CertificateParsingException e) {
      return null;
    }
  }

  /**
   * Why {@code cert}, which authenticated {@code user}, is not a good node certificate; null when
   * it is, or when {@code user} is no node.
   */
  public String refusal(UserInfo user, X509Certificate cert) {
    String node = claimedNode(user);
    if (node == null) {
      return null;
    }
    if (node.isEmpty()) {
      return "a certificate in group system:nodes must be for CN=system:node:NAME";
    }
    String uid = uidOf(cert);
    String now = current(node);
    if (uid != null && uid.equals(now)) {
      return null;
    }
    return now == null && uid != null
        ? "the certificates of node \"" + node + "\" were revoked (its Node was deleted, or 'pctl node revoke' ran): join again with a new join token"
        : "this certificate of node \"" + node + "\" is no longer valid (the node joined again, or the certificate was not signed"
            + " as this node's): use the node's current certificate, or join again";
  }

  /**
   * Runs {@code end} (once) when {@code node}'s identity stops being {@code uid}; returns what stops
   * watching for that. For the open watches of a node, so that revoking it ends them.
   */
  public Runnable whileValid(String node, String uid, Runnable end) {
    long id = ids.incrementAndGet();
    holders.put(id, new Holder(node, uid, end));
    if (!uid.equals(current(node)) && holders.remove(id) != null) {
      end.run();
    }
    return () -> holders.remove(id);
  }

  @Override
  public void close() {
    index.close();
  }
}
