package dev.procurator.pctl;

import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.Locale;

/** Kubeconfig files for one cluster and one user, as kubectl, client-go and fabric8 read them. */
final class Kubeconfigs {
  private Kubeconfigs() {}

  /** A user authenticated by a bearer token. */
  static String withToken(String url, String caPem, String user, String token) {
    return config(url, caPem, user, "    token: " + token + "\n");
  }

  /** A user authenticated by a client certificate. */
  static String withCertificate(String url, String caPem, String user, String certPem, String keyPem) {
    return config(url, caPem, user, "    client-certificate-data: " + b64(certPem) + "\n    client-key-data: " + b64(keyPem) + "\n");
  }

  private static String config(String url, String caPem, String user, String credentials) {
    String name = user.replace(':', '-');
    return String.format(Locale.ROOT, """
        apiVersion: v1
        kind: Config
        clusters:
        - name: procurator
          cluster:
            server: %s
            certificate-authority-data: %s
        users:
        - name: %s
          user:
        %scontexts:
        - name: procurator
          context:
            cluster: procurator
            user: %s
            namespace: default
        current-context: procurator
        """, url, b64(caPem), name, credentials, name);
  }

  private static String b64(String s) {
    return Base64.getEncoder().encodeToString(s.getBytes(StandardCharsets.UTF_8));
  }
}
