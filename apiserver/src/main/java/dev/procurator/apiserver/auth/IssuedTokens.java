package dev.procurator.apiserver.auth;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.procurator.apiserver.storage.Storage;
import dev.procurator.apiserver.watch.ObjectIndex;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ScheduledExecutorService;
import java.util.regex.Pattern;

/**
 * Tokens issued by {@code pctl token create}, kept as Secrets named {@code token-ID} in
 * {@code procurator-system}, as Kubernetes keeps bootstrap tokens in kube-system: the token is
 * {@code ID.SECRET}, and the Secret holds only the SHA-256 of SECRET ({@code tokenHash}), with
 * {@code user}, {@code groups} (comma-separated), an optional {@code expiration} (RFC 3339) and
 * {@code usage} ({@code authentication}, or {@code join} for a node's one-time join token).
 * Deleting the Secret revokes the token. Only cluster admins may touch that namespace's Secrets.
 */
public final class IssuedTokens implements Authenticator {
  public static final String NAMESPACE = "procurator-system";
  public static final String PREFIX = "token-";
  public static final Pattern FORMAT = Pattern.compile("([a-z0-9]{6})\\.([a-z0-9]{16,64})");
  public static final String BOOTSTRAPPERS = "system:bootstrappers";

  /** One issued token as its Secret states it. */
  public record Issued(String id, byte[] hash, String user, List<String> groups, Instant expiration, String usage, String resourceVersion) {}

  private final ObjectIndex<Issued> index;
  private final Clock clock;

  public IssuedTokens(Storage storage, String secretsPrefix, ScheduledExecutorService scheduler, Clock clock) {
    this.index = new ObjectIndex<>(storage, secretsPrefix + NAMESPACE + "/" + PREFIX, IssuedTokens::issued, scheduler);
    this.clock = clock;
  }

  public IssuedTokens start() {
    index.start();
    return this;
  }

  private static Issued issued(ObjectNode secret) {
    String name = secret.path("metadata").path("name").asText();
    if (!name.startsWith(PREFIX)) {
      return null;
    }
    JsonNode data = secret.path("spec").path("data");
    String hash = text(data, "tokenHash");
    String user = text(data, "user");
    if (hash == null || user == null) {
      return null;
    }
    List<String> groups = new ArrayList<>();
    String g = text(data, "groups");
    if (g != null) {
      for (String s : g.split(",")) {
        if (!s.isBlank()) {
          groups.add(s.strip());
        }
      }
    }
    String exp = text(data, "expiration");
    String usage = text(data, "usage");
    return new Issued(name.substring(PREFIX.length()), HexFormat.of().parseHex(hash), user, groups,
        exp == null ? null : Instant.parse(exp), usage == null ? "authentication" : usage,
        secret.path("metadata").path("resourceVersion").asText());
  }

  private static String text(JsonNode data, String key) {
    JsonNode v = data.get(key);
    return v == null || !v.isTextual() ? null : new String(Base64.getDecoder().decode(v.asText()), StandardCharsets.UTF_8).strip();
  }

  /** The live token {@code token} names, whatever its usage; empty when unknown, expired or wrong. */
  public Optional<Issued> lookup(String token) {
    var m = FORMAT.matcher(token);
    if (!m.matches()) {
      return Optional.empty();
    }
    Issued i = index.get(index.prefixKey(m.group(1)));
    if (i == null) {
      return Optional.empty();
    }
    boolean match = MessageDigest.isEqual(TokenAuthenticator.sha256(m.group(2)), i.hash());
    if (!match || (i.expiration() != null && !clock.instant().isBefore(i.expiration()))) {
      return Optional.empty();
    }
    return Optional.of(i);
  }

  /** The token whose id is {@code id}, as its Secret states it now, or null. */
  public Issued issued(String id) {
    return index.get(index.prefixKey(id));
  }

  @Override
  public Optional<UserInfo> authenticate(String header) {
    String token = TokenAuthenticator.bearer(header);
    if (token == null) {
      return Optional.empty();
    }
    return lookup(token).map(i -> i.usage().equals("join")
        ? new UserInfo("system:bootstrap:" + i.id(), List.of(BOOTSTRAPPERS))
        : new UserInfo(i.user(), i.groups()));
  }

  public void close() {
    index.close();
  }
}
