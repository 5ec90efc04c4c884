package dev.procurator.apiserver.auth;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Map;
import java.util.Optional;

/**
 * Static bearer tokens. Tokens are compared by their SHA-256 digests in constant time, so a
 * mismatch reveals nothing about how close a guess was.
 */
public final class TokenAuthenticator implements Authenticator {
  private final Map<String, UserInfo> usersByDigest;

  public TokenAuthenticator(Map<String, UserInfo> usersByToken) {
    this.usersByDigest = new java.util.HashMap<>();
    usersByToken.forEach((token, user) -> usersByDigest.put(java.util.HexFormat.of().formatHex(digest(token)), user));
  }

  @Override
  public Optional<UserInfo> authenticate(String header) {
    if (header == null || !header.regionMatches(true, 0, "Bearer ", 0, 7)) {
      return Optional.empty();
    }
    byte[] given = digest(header.substring(7).trim());
    for (Map.Entry<String, UserInfo> e : usersByDigest.entrySet()) {
      if (MessageDigest.isEqual(given, java.util.HexFormat.of().parseHex(e.getKey()))) {
        return Optional.of(e.getValue());
      }
    }
    return Optional.empty();
  }

  private static byte[] digest(String token) {
    try {
      return MessageDigest.getInstance("SHA-256").digest(token.getBytes(StandardCharsets.UTF_8));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }
}
