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
 * when no Node of that name exists, and the token is used up in the same step, so a second use
 * fails; a node renewing asks for its own name only. The answer carries the certificate in
 * {@code status.certificate}, with an {@code Approved} condition; anything else is refused with
 * 403 naming why, and nothing is stored.
 */
public final class NodeCertificates {
  public static final String SIGNER = "kubernetes.io/kube-apiserver-client-kubelet";
  /** Shortest lifetime a request may ask for (short ones are for tests of renewal). */
  public static final Duration MIN = Duration.ofSeconds(10);
  public static final Duration DEFAULT = Duration.ofHours(24);
  public static final Duration MAX = Duration.ofDays(365);

  private final Pki pki;
  private final ResourceService service;
  private final ResourceType nodes;
  private final ResourceType secrets;
  private final IssuedTokens tokens;
  private final Clock clock;

  public NodeCertificates(Pki pki, ResourceService service, ResourceRegistry registry, IssuedTokens tokens, Clock clock) {
    this.pki = pki;
    this.service = service;
    this.nodes = registry.find("procurator.dev", "v1alpha1", "nodes").orElseThrow();
    this.secrets = registry.find("procurator.dev", "v1alpha1", "secrets").orElseThrow();
    this.tokens = tokens;
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
    if (user.groups().contains(IssuedTokens.BOOTSTRAPPERS)) {
      try {
        service.get(nodes, null, node);
        throw refuse(type, name, "a Node named \"" + node + "\" exists already; delete it first to join a new host under its name");
      } catch (ApiException e) {
        if (e.code() != 404) {
          throw e;
        }
      }
      consumeJoinToken(type, name, user);
    } else if (!user.name().equals(cn) && !user.groups().contains("system:masters")) {
      throw refuse(type, name, "user \"" + user.name() + "\" may ask for a certificate of its own name only, not " + cn);
    }
    Duration validity = DEFAULT;
    if (csr.path("spec").hasNonNull("expirationSeconds")) {
      long s = csr.path("spec").path("expirationSeconds").asLong();
      if (s < MIN.toSeconds() || s > MAX.toSeconds()) {
        throw ApiException.badRequest("spec.expirationSeconds must be between " + MIN.toSeconds() + " and " + MAX.toSeconds());
      }
      validity = Duration.ofSeconds(s);
    }
    String pem;
    try {
      pem = pki.signClientPem(new JcaPKCS10CertificationRequest(request).getPublicKey(), cn, orgs, validity);
    } catch (java.security.GeneralSecurityException e) {
      throw ApiException.badRequest("spec.request holds a key this server cannot read: " + e.getMessage());
    }
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
