package dev.procurator.apiserver.auth;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Static bearer tokens, compared with {@link MessageDigest#isEqual}, which takes the same time
 * wherever two tokens of equal length first differ, so a wrong guess reveals nothing about how
 * close it was. Every configured token is compared, so timing does not reveal which one matched.
 */
public final class TokenAuthenticator implements Authenticator {
  private record Entry(byte[] token, UserInfo user) {}

  private final List<Entry> entries = new ArrayList<>();

  public TokenAuthenticator(Map<String, UserInfo> usersByToken) {
    usersByToken.forEach((token, user) -> entries.add(new Entry(token.getBytes(StandardCharsets.UTF_8), user)));
  }

  @Override
  public Optional<UserInfo> authenticate(String header) {
    if (header == null || !header.regionMatches(true, 0, "Bearer ", 0, 7)) {
      return Optional.empty();
    }
    byte[] given = header.substring(7).trim().getBytes(StandardCharsets.UTF_8);
    UserInfo found = null;
    for (Entry e : entries) {
      if (MessageDigest.isEqual(given, e.token) && found == null) {
        found = e.user;
      }
    }
    return Optional.ofNullable(found);
  }
}
