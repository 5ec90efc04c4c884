package dev.procurator.apiserver.auth;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.procurator.apiserver.registry.Admission;
import dev.procurator.apiserver.registry.ApiException;
import dev.procurator.apiserver.registry.Json;
import dev.procurator.apiserver.registry.ResourceService;
import dev.procurator.apiserver.resource.ResourceRegistry;
import dev.procurator.apiserver.resource.ResourceType;
import java.io.StringReader;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import org.bouncycastle.asn1.x500.RDN;
import org.bouncycastle.asn1.x500.style.BCStyle;
import org.bouncycastle.asn1.x500.style.IETFUtils;
import org.bouncycastle.openssl.PEMParser;
import org.bouncycastle.operator.jcajce.JcaContentVerifierProviderBuilder;
import org.bouncycastle.pkcs.PKCS10CertificationRequest;
import org.bouncycastle.pkcs.jcajce.JcaPKCS10CertificationRequest;

/**
 * Node client certificates, approved and signed as a CertificateSigningRequest is created
 * ({@code certificates.k8s.io/v1}, signer {@value #SIGNER}): the request must be for
 * {@code CN=system:node:NAME, O=system:nodes}. A node joining with a one-time join token gets one
 * when no Node of that name exists and the name does not begin with {@code system} or {@code
 * procurator}, and the token is used up in the same step, so a second use fails; a node renewing
 * asks for its own name only, while it is not revoked; a cluster admin may ask for any node's.
 * Every certificate names the node's identity ({@link NodeIdentities}), which a join replaces, and
 * lasts the server's node certificate lifetime or less. The answer carries the certificate in
 * {@code status.certificate}, with an {@code Approved} condition; anything else is refused with
 * 403 naming why, and nothing is stored.
 */
public final class NodeCertificates {
  public static final String SIGNER = "kubernetes.io/kube-apiserver-client-kubelet";
  /** Shortest lifetime a request may ask for (short ones are for tests of renewal). */
  public static final Duration MIN = Duration.ofSeconds(10);
  /** How long a node certificate lasts unless the server is told otherwise ({@code --node-cert-ttl}). */
  public static final Duration DEFAULT = Duration.ofHours(24);

  private final Pki pki;
  private final ResourceService service;
  private final ResourceType nodes;
  private final ResourceType secrets;
  private final IssuedTokens tokens;
  private final NodeIdentities identities;
  private final Duration ttl;
  private final Clock clock;

  /**
   * @param ttl how long the certificates it signs last; a request may ask for less ({@code
   *     spec.expirationSeconds}), never more
   */
  public NodeCertificates(Pki pki, ResourceService service, ResourceRegistry registry, IssuedTokens tokens, NodeIdentities identities,
      Duration ttl, Clock clock) {
    if (ttl.compareTo(MIN) < 0) {
      throw new IllegalArgumentException("node certificates must last at least " + MIN.toSeconds() + " s, not " + ttl);
    }
    this.pki = pki;
    this.service = service;
    this.nodes = registry.find("procurator.dev", "v1alpha1", "nodes").orElseThrow();
    this.secrets = registry.find("procurator.dev", "v1alpha1", "secrets").orElseThrow();
    this.tokens = tokens;
    this.identities = identities;
    this.ttl = ttl;
    this.clock = clock;
  }

  /** The check that signs a CSR {@code user} creates (or refuses it). Blocking: run off the event loop. */
  public Admission admission(UserInfo user) {
    return (type, old, csr) -> sign(user, type, csr);
  }

  private void sign(UserInfo user, ResourceType type, ObjectNode csr) {
    String name = csr.path("metadata").path("name").asText();
    String signer = csr.path("spec").path("signerName").asText("");
    if (!signer.equals(SIGNER)) {
      throw refuse(type, name, "spec.signerName must be " + SIGNER + ", the only signer this server runs");
    }
    PKCS10CertificationRequest request = parse(type, name, csr.path("spec").path("request").asText(""));
    String cn = null;
    List<String> orgs = new ArrayList<>();
    for (RDN rdn : request.getSubject().getRDNs()) {
      var first = rdn.getFirst();
      if (first.getType().equals(BCStyle.CN)) {
        cn = IETFUtils.valueToString(first.getValue());
      } else if (first.getType().equals(BCStyle.O)) {
        orgs.add(IETFUtils.valueToString(first.getValue()));
      }
    }
    if (cn == null || !cn.startsWith("system:node:") || cn.length() == "system:node:".length() || !orgs.equals(List.of("system:nodes"))) {
      throw refuse(type, name, "the request must be for CN=system:node:NAME, O=system:nodes, not " + request.getSubject());
    }
    String node = cn.substring("system:node:".length());
    String why = nameProblem(node);
    if (why != null) {
      throw refuse(type, name, why);
    }
    Duration validity = ttl;
    if (csr.path("spec").hasNonNull("expirationSeconds")) {
      long s = csr.path("spec").path("expirationSeconds").asLong();
      if (s < MIN.toSeconds()) {
        throw ApiException.badRequest("spec.expirationSeconds must be at least " + MIN.toSeconds());
      }
      // as Kubernetes' signers: a request may shorten the lifetime, never lengthen it past the server's
      validity = Duration.ofSeconds(Math.min(s, ttl.toSeconds()));
    }
    java.security.PublicKey key;
    try {
      key = new JcaPKCS10CertificationRequest(request).getPublicKey();
    } catch (java.security.GeneralSecurityException e) {
      throw ApiException.badRequest("spec.request holds a key this server cannot read: " + e.getMessage());
    }
    String identity;
    if (user.groups().contains(IssuedTokens.BOOTSTRAPPERS)) {
      if (reserved(node)) {
        throw refuse(type, name, "node names beginning with \"system\" or \"procurator\" are reserved for the platform's own"
            + " users and objects; join under another name");
      }
      try {
        service.get(nodes, null, node);
        throw refuse(type, name, "a Node named \"" + node + "\" exists already; delete it first to join a new host under its name");
      } catch (ApiException e) {
        if (e.code() != 404) {
          throw e;
        }
      }
      consumeJoinToken(type, name, user);
      // a new host under this name: whatever certificates the name had before are refused from now on
      identity = identities.replace(node);
    } else if (user.groups().contains("system:masters")) {
      identity = identities.ensure(node);
    } else if (user.name().equals(cn)) {
      identity = identities.current(node);
      if (identity == null) {
        throw refuse(type, name, "node \"" + node + "\" was revoked; it may join again with a new join token");
      }
    } else {
      throw refuse(type, name, "user \"" + user.name() + "\" may ask for a certificate of its own name only, not " + cn);
    }
    String pem = pki.signClientPem(key, cn, orgs, validity, List.of(NodeIdentities.URI_PREFIX + identity));
    ObjectNode spec = (ObjectNode) csr.get("spec");
    spec.put("username", user.name());
    var groups = spec.putArray("groups");
    user.groups().forEach(groups::add);
    ObjectNode status = csr.putObject("status");
    status.put("certificate", Base64.getEncoder().encodeToString(pem.getBytes(StandardCharsets.UTF_8)));
    status.putArray("conditions").addObject().put("type", "Approved").put("status", "True").put("reason", "AutoApproved")
        .put("message", user.groups().contains(IssuedTokens.BOOTSTRAPPERS) ? "node " + node + " joined with a join token"
            : "node " + node + " renewed its certificate")
        .put("lastUpdateTime", clock.instant().truncatedTo(java.time.temporal.ChronoUnit.SECONDS).toString());
  }

  /** Whether a joining host may not take {@code node}: names the platform's own users and objects begin with. */
  static boolean reserved(String node) {
    return node.startsWith("system") || node.startsWith("procurator");
  }

  /** Why {@code node} cannot name a Node (and its identity Secret), or null. */
  private static String nameProblem(String node) {
    if (node.length() > 253 - NodeIdentities.PREFIX.length() || !node.matches("[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")) {
      return "\"" + node + "\" is not a node name: lower-case letters, digits, '-' and '.', starting and ending with a letter or digit,"
          + " at most " + (253 - NodeIdentities.PREFIX.length()) + " characters";
    }
    return null;
  }

  /** Deletes the join token's Secret at the version that authenticated this request; a token used already fails here. */
  private void consumeJoinToken(ResourceType type, String name, UserInfo user) {
    String id = user.name().substring(user.name().lastIndexOf(':') + 1);
    var issued = tokens.issued(id);
    if (issued == null) {
      throw refuse(type, name, "this join token was used already");
    }
    ObjectNode options = Json.object();
    options.putObject("preconditions").put("resourceVersion", issued.resourceVersion());
    try {
      service.delete(secrets, IssuedTokens.NAMESPACE, IssuedTokens.PREFIX + id, options, false);
    } catch (ApiException e) {
      if (e.code() == 404 || e.code() == 409) {
        throw refuse(type, name, "this join token was used already");
      }
      throw e;
    }
  }

  private static PKCS10CertificationRequest parse(ResourceType type, String name, String base64) {
    try {
      String pem = new String(Base64.getDecoder().decode(base64), StandardCharsets.UTF_8);
      try (PEMParser p = new PEMParser(new StringReader(pem))) {
        if (!(p.readObject() instanceof PKCS10CertificationRequest r)) {
          throw new IllegalArgumentException("no CERTIFICATE REQUEST block");
        }
        if (!r.isSignatureValid(new JcaContentVerifierProviderBuilder().build(r.getSubjectPublicKeyInfo()))) {
          throw new IllegalArgumentException("its signature does not match its key");
        }
        return r;
      }
    } catch (Exception e) {
      throw ApiException.badRequest("spec.request must be a base64 PEM certificate request: " + e.getMessage());
    }
  }

  private static ApiException refuse(ResourceType type, String name, String why) {
    return ApiException.forbidden(type.qualifiedResource() + " \"" + name + "\" is forbidden: " + why);
  }
}
