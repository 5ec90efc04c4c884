package dev.procurator.controllers.gitops;

import dev.procurator.api.v1alpha1.GitRepository;
import dev.procurator.api.v1alpha1.GitRepositorySpec;
import dev.procurator.api.v1alpha1.Identities;
import dev.procurator.api.v1alpha1.Secret;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import java.io.IOException;
import java.util.Optional;

/** A GitRepository's {@code secretRef}: the remote's username and password, and the CA it is trusted by. */
final class GitCredentials {
  private GitCredentials() {}

  /** Why a remote's credentials cannot be had: a Ready reason and a message. */
  static final class SecretMissing extends Exception {
    final String reason;

    SecretMissing(String message) {
      this("SecretNotFound", message);
    }

    SecretMissing(String reason, String message) {
      super(message);
      this.reason = reason;
    }
  }

  /**
   * The remote's credentials from secretRef ({@code username}/{@code password}), and the CA its
   * HTTPS certificate is signed by ({@code ca.crt}), trusted for that remote only; read as {@code
   * identity}, the repository's own, so that a Secret is used only if that identity may get it.
   */
  static GitSource.Credentials read(KubernetesClient identity, GitRepository repo) throws SecretMissing {
    GitRepositorySpec.SecretRef ref = repo.getSpec().secretRef();
    String url = repo.getSpec().url();
    boolean https = url.startsWith("https://");
    if (ref == null) {
      trust(url, https, null);
      return null;
    }
    // read as the repository's identity: the Secret is used only if that identity may get it
    Secret secret;
    try {
      secret = identity.resources(Secret.class).inNamespace(repo.getMetadata().getNamespace()).withName(ref.name()).get();
    } catch (KubernetesClientException e) {
      if (e.getCode() != 403) {
        throw e;
      }
      String who = Identities.gitRepository(repo.getMetadata().getNamespace(), repo.getMetadata().getName());
      throw new SecretMissing("SecretForbidden", "secretRef names Secret \"" + ref.name() + "\", which " + who
          + " may not get; an admin grants it with a Role allowing get on secrets.procurator.dev named " + ref.name()
          + ", bound to that user");
    }
    if (secret == null || secret.getSpec() == null) {
      throw new SecretMissing("secretRef names Secret \"" + ref.name() + "\", which does not exist in namespace "
          + repo.getMetadata().getNamespace());
    }
    trust(url, https, secret.getSpec().text("ca.crt").orElse(null));
    Optional<String> user = secret.getSpec().text("username");
    Optional<String> password = secret.getSpec().text("password");
    if (user.isEmpty() && password.isEmpty()) {
      return null; // a CA alone: a public repository behind a private CA
    }
    if (user.isEmpty() || password.isEmpty()) {
      throw new SecretMissing("Secret \"" + ref.name() + "\" must hold both username and password for an HTTPS remote");
    }
    return new GitSource.Credentials(user.get(), password.get());
  }

  private static void trust(String url, boolean https, String caPem) throws SecretMissing {
    if (!https) {
      return;
    }
    try {
      GitTls.trust(url, caPem);
    } catch (java.security.GeneralSecurityException | IOException e) {
      throw new SecretMissing("the secret's ca.crt cannot be used: " + e.getMessage());
    }
  }
}
