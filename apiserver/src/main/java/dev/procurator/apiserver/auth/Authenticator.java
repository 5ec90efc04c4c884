package dev.procurator.apiserver.auth;

import java.util.Optional;

/** Maps a request's {@code Authorization} header to a user, or to nobody. Thread-safe. */
public interface Authenticator {
  Optional<UserInfo> authenticate(String authorizationHeader);
}
