package dev.procurator.apiserver.auth;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Static bearer tokens (the admin token, a {@link TokenFile}'s), held only as SHA-256 digests and
 * compared with {@link MessageDigest#isEqual}, which takes the same time wherever two digests
 * first differ. Every configured token is compared, so timing does not reveal which one matched.
 */
public final class TokenAuthenticator implements Authenticator {
  private record Entry(byte[] digest, UserInfo user) {}

  private final List<Entry> entries = new ArrayList<>();

  public TokenAuthenticator(Map<String, UserInfo> usersByToken) {
    usersByToken.forEach((token, user) -> entries.add(new Entry(sha256(token), user)));
  }

  @Override
  public Optional<UserInfo> authenticate(String header) {
    String token = bearer(header);
    if (token == null) {
      return Optional.empty();
    }
    byte[] given = sha256(token);
    UserInfo found = null;
    for (Entry e : entries) {
      if (MessageDigest.isEqual(given, e.digest) && found == null) {
        found = e.user;
      }
    }
    return Optional.ofNullable(found);
  }

  /** The token of an {@code Authorization: Bearer} header, or null. */
  static String bearer(String header) {
    if (header == null || !header.regionMatches(true, 0, "Bearer ", 0, 7)) {
      return null;
    }
    String t = header.substring(7).trim();
    return t.isEmpty() ? null : t;
  }

  public static byte[] sha256(String s) {
    try {
      return MessageDigest.getInstance("SHA-256").digest(s.getBytes(StandardCharsets.UTF_8));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }
}
