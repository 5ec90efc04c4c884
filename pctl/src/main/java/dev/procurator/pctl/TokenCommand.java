package dev.procurator.pctl;

import dev.procurator.api.v1alpha1.Secret;
import dev.procurator.api.v1alpha1.SecretSpec;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.security.SecureRandom;
import java.time.Duration;
import java.time.Instant;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParentCommand;

/**
 * Issues API tokens: {@code ID.SECRET}, of which the server keeps only the SHA-256 of SECRET, in a
 * Secret {@code token-ID} of {@code procurator-system} (only cluster admins may write there).
 * Revoke one by deleting its Secret.
 */
@Command(name = "token", mixinStandardHelpOptions = true, description = "API tokens: create.",
    subcommands = {TokenCommand.Create.class})
final class TokenCommand {
  static final String NAMESPACE = "procurator-system";
  private static final String ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789";
  private static final SecureRandom RANDOM = new SecureRandom();

  @ParentCommand Pctl global;

  /** A token issued: what to give the user, and the Secret that stands for it. */
  record Issued(String token, String id) {}

  /**
   * Issues a token for {@code user} in {@code groups}, expiring after {@code ttl} (null: never);
   * {@code join} makes it a one-time node join token instead.
   */
  static Issued issue(KubernetesClient client, String user, List<String> groups, Duration ttl, boolean join) {
    String id = random(6);
    String secret = random(32);
    Map<String, String> data = new LinkedHashMap<>();
    data.put("tokenHash", HexFormat.of().formatHex(sha256(secret)));
    data.put("user", user);
    data.put("groups", String.join(",", groups));
    data.put("usage", join ? "join" : "authentication");
    if (ttl != null) {
      data.put("expiration", Instant.now().plus(ttl).toString());
    }
    Secret s = new Secret();
    s.setMetadata(new ObjectMetaBuilder().withName("token-" + id).withNamespace(NAMESPACE)
        .addToLabels("procurator.dev/token-usage", join ? "join" : "authentication")
        .addToAnnotations("procurator.dev/token-user", user).build());
    s.setSpec(new SecretSpec(null, data));
    client.resources(Secret.class).inNamespace(NAMESPACE).resource(s).create();
    return new Issued(id + "." + secret, id);
  }

  private static String random(int n) {
    StringBuilder sb = new StringBuilder(n);
    for (int i = 0; i < n; i++) {
      sb.append(ALPHABET.charAt(RANDOM.nextInt(ALPHABET.length())));
    }
    return sb.toString();
  }

  private static byte[] sha256(String s) {
    try {
      return java.security.MessageDigest.getInstance("SHA-256").digest(s.getBytes(java.nio.charset.StandardCharsets.UTF_8));
    } catch (java.security.NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  /** {@code 30m}, {@code 12h}, {@code 7d} or seconds; null for none. */
  static Duration parseTtl(String ttl) {
    if (ttl == null || ttl.isEmpty() || ttl.equals("0")) {
      return null;
    }
    try {
      Duration d = Durations.parse(ttl);
      if (!d.isZero()) {
        return d;
      }
    } catch (IllegalArgumentException e) {
      // said below
    }
    throw new Errors.UserError("--ttl must be a duration such as 30m, 12h or 7d, not \"" + ttl + "\"");
  }

  @Command(name = "create", mixinStandardHelpOptions = true,
      description = "Issue a token for a user (printed alone on stdout). Cluster admins only.")
  static final class Create implements Callable<Integer> {
    @ParentCommand TokenCommand parent;

    @Option(names = "--user", description = "The user the token authenticates as.") String user;

    @Option(names = "--group", description = "A group of the user (repeatable).") List<String> groups = new java.util.ArrayList<>();

    @Option(names = "--ttl", description = "Lifetime, such as 30m, 12h or 7d (default: no expiry; a join token: 1h).") String ttl;

    @Option(names = "--join", description = "A one-time token a node joins with ('pctl agent --join TOKEN').") boolean join;

    @Override
    public Integer call() {
      if (!join && (user == null || user.isBlank())) {
        throw new Errors.UserError("--user is required (or --join for a node join token)");
      }
      Duration life = parseTtl(ttl);
      try (KubernetesClient client = KubeClients.from(parent.global)) {
        Issued t = issue(client, join ? "system:bootstrap" : user, join ? List.of() : groups,
            join && life == null ? Duration.ofHours(1) : life, join);
        System.out.println(t.token());
      }
      return 0;
    }
  }
}
