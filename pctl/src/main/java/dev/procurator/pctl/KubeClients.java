package dev.procurator.pctl;

import io.fabric8.kubernetes.client.Config;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** fabric8 clients for the components pctl runs in-process (agent, controllers). */
final class KubeClients {
  private KubeClients() {}

  static KubernetesClient fromKubeconfig(Path kubeconfig) {
    if (!Files.exists(kubeconfig)) {
      throw new Errors.UserError("kubeconfig " + kubeconfig + " does not exist");
    }
    try {
      Config c = Config.fromKubeconfig(null, Files.readString(kubeconfig), kubeconfig.toString());
      c.setClientKeyAlgo(keyAlgorithm(c));
      // watches are long-lived; informers reconnect by themselves
      c.setRequestTimeout(30_000);
      return new KubernetesClientBuilder().withConfig(c).build();
    } catch (IOException | RuntimeException e) {
      throw new Errors.UserError("cannot read kubeconfig " + kubeconfig + ": " + e.getMessage());
    }
  }

  /** A client for pctl's own verbs: the kubeconfig as {@link ApiClient} finds it, with --server and --token over it. */
  static KubernetesClient from(Pctl global) {
    return from(global, c -> {});
  }

  /** As {@link #from(Pctl)}, with {@code tweak} applied to the client's settings last. */
  static KubernetesClient from(Pctl global, java.util.function.Consumer<Config> tweak) {
    Path kubeconfig = kubeconfigOf(global);
    Config c;
    try {
      c = Files.exists(kubeconfig) ? Config.fromKubeconfig(null, Files.readString(kubeconfig), kubeconfig.toString()) : Config.empty();
      c.setClientKeyAlgo(keyAlgorithm(c));
    } catch (IOException | RuntimeException e) {
      throw new Errors.UserError("cannot read kubeconfig " + kubeconfig + ": " + e.getMessage());
    }
    if (!Files.exists(kubeconfig) && global.kubeconfig != null) {
      throw new Errors.UserError("kubeconfig " + kubeconfig + " does not exist");
    }
    if (global.server != null) {
      c.setMasterUrl(global.server);
    }
    if (global.token != null) {
      c.setOauthToken(global.token);
    }
    if (c.getMasterUrl() == null || c.getMasterUrl().isEmpty() || !Files.exists(kubeconfig) && global.server == null) {
      throw new Errors.UserError("no API server: start one with 'pctl up', or pass --kubeconfig or --server");
    }
    if (c.getNamespace() == null) {
      c.setNamespace("default");
    }
    c.setRequestTimeout(30_000);
    tweak.accept(c);
    return new KubernetesClientBuilder().withConfig(c).build();
  }

  /** {@code EC} for an elliptic-curve client key (what the cluster CA issues), else what the kubeconfig said. */
  static String keyAlgorithm(Config c) {
    if (c.getClientKeyData() == null) {
      return c.getClientKeyAlgo();
    }
    try (var p = new org.bouncycastle.openssl.PEMParser(new java.io.StringReader(new String(
        java.util.Base64.getDecoder().decode(c.getClientKeyData()), java.nio.charset.StandardCharsets.UTF_8)))) {
      Object o = p.readObject();
      boolean ec = o instanceof org.bouncycastle.openssl.PEMKeyPair kp
          ? kp.getPrivateKeyInfo().getPrivateKeyAlgorithm().getAlgorithm().equals(org.bouncycastle.asn1.x9.X9ObjectIdentifiers.id_ecPublicKey)
          : o instanceof org.bouncycastle.asn1.pkcs.PrivateKeyInfo pk
              && pk.getPrivateKeyAlgorithm().getAlgorithm().equals(org.bouncycastle.asn1.x9.X9ObjectIdentifiers.id_ecPublicKey);
      return ec ? "EC" : c.getClientKeyAlgo();
    } catch (IOException | RuntimeException e) {
      return c.getClientKeyAlgo();
    }
  }

  static Path kubeconfigOf(Pctl global) {
    return global.kubeconfig != null ? Path.of(global.kubeconfig) : ApiClient.defaultKubeconfig();
  }
}
