package dev.procurator.apiserver.rest;

import dev.procurator.apiserver.auth.UserInfo;
import io.vertx.core.http.HttpServerRequest;
import java.security.cert.Certificate;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import javax.naming.ldap.LdapName;
import javax.naming.ldap.Rdn;
import javax.net.ssl.SSLPeerUnverifiedException;

/**
 * The user a verified client certificate names: CN the user, each O a group, as Kubernetes reads
 * X.509 client certificates. The TLS layer has already checked it against the cluster CA and its
 * validity dates; a connection without one authenticates nobody.
 */
final class ClientCertificates {
  private ClientCertificates() {}

  /** The verified client certificate of the request's connection, if it has one. */
  static Optional<X509Certificate> peer(HttpServerRequest req) {
    if (!req.isSSL()) {
      return Optional.empty();
    }
    List<Certificate> chain;
    try {
      chain = req.connection().peerCertificates();
    } catch (SSLPeerUnverifiedException | UnsupportedOperationException e) {
      return Optional.empty();
    }
    if (chain == null || chain.isEmpty() || !(chain.getFirst() instanceof X509Certificate cert)) {
      return Optional.empty();
    }
    return Optional.of(cert);
  }

  static Optional<UserInfo> of(X509Certificate cert) {
    try {
      String cn = null;
      List<String> groups = new ArrayList<>();
      for (Rdn rdn : new LdapName(cert.getSubjectX500Principal().getName()).getRdns()) {
        if (rdn.getType().equalsIgnoreCase("CN") && cn == null) {
          cn = rdn.getValue().toString();
        } else if (rdn.getType().equalsIgnoreCase("O")) {
          groups.add(rdn.getValue().toString());
        }
      }
      return cn == null || cn.isEmpty() ? Optional.empty() : Optional.of(new UserInfo(cn, groups.reversed()));
    } catch (javax.naming.InvalidNameException e) {
      return Optional.empty();
    }
  }
}
