package dev.procurator.apiserver.auth;

import java.util.List;
import java.util.Optional;

/** Maps a request's {@code Authorization} header to a user, or to nobody. Thread-safe. */
public interface Authenticator {
  Optional<UserInfo> authenticate(String authorizationHeader);

  /** The first of {@code authenticators} that knows the caller. */
  static Authenticator firstOf(List<Authenticator> authenticators) {
    List<Authenticator> all = List.copyOf(authenticators);
    return header -> {
      for (Authenticator a : all) {
        Optional<UserInfo> u = a.authenticate(header);
        if (u.isPresent()) {
          return u;
        }
      }
      return Optional.empty();
    };
  }
}
