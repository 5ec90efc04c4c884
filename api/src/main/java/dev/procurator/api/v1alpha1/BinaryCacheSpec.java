package dev.procurator.api.v1alpha1;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import io.fabric8.generator.annotation.Required;
import java.net.URI;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Locale;

/**
 * A registered binary cache.
 *
 * @param url the cache's base URL, {@code http(s)://host[:port][/path]}: no credentials, no query
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record BinaryCacheSpec(
    @Required @JsonPropertyDescription("The cache's base URL, http(s)://host[:port][/path], without credentials or query.") String url) {

  /** What is wrong with {@code url} as a registration, or an empty list. */
  public static List<String> problems(String url) {
    List<String> out = new ArrayList<>();
    URI u;
    try {
      u = URI.create(url);
    } catch (IllegalArgumentException e) {
      return List.of("must be a URL: " + e.getMessage());
    }
    String scheme = u.getScheme() == null ? "" : u.getScheme().toLowerCase(Locale.ROOT);
    if (!scheme.equals("http") && !scheme.equals("https")) {
      out.add("must be an http:// or https:// URL");
    }
    if (u.getHost() == null) {
      out.add("must name a host");
    }
    if (u.getRawUserInfo() != null) {
      out.add("must not hold credentials: a Build's push token comes from its cacheSecretRef");
    }
    if (u.getRawQuery() != null || u.getRawFragment() != null) {
      out.add("must have no query or fragment (a Build's cache URL may add ?compression=…)");
    }
    return out;
  }

  /**
   * The cache a URL points at, for comparing a Build's {@code spec.cache} with registrations:
   * scheme and host in lower case, the port made explicit, no trailing slash, no query (nix's
   * options such as {@code ?compression=xz}). Credentials are kept, so a URL that carries some
   * matches no registration. Null when {@code url} is no URL.
   */
  public static String identity(String url) {
    if (url == null) {
      return null;
    }
    URI u;
    try {
      u = URI.create(url.strip());
    } catch (IllegalArgumentException e) {
      return null;
    }
    if (u.getScheme() == null || u.getHost() == null) {
      return null;
    }
    String scheme = u.getScheme().toLowerCase(Locale.ROOT);
    int port = u.getPort() >= 0 ? u.getPort() : scheme.equals("https") ? 443 : scheme.equals("http") ? 80 : -1;
    String path = u.getRawPath() == null ? "" : u.getRawPath().replaceAll("/+$", "");
    return scheme + "://" + (u.getRawUserInfo() == null ? "" : u.getRawUserInfo() + "@") + u.getHost().toLowerCase(Locale.ROOT) + ":" + port
        + path;
  }

  /** Whether {@code url} (a Build's {@code spec.cache}) is one of {@code registered} (their {@code spec.url}s). */
  public static boolean registered(String url, Collection<String> registered) {
    String wanted = identity(url);
    return wanted != null && registered.stream().map(BinaryCacheSpec::identity).anyMatch(wanted::equals);
  }
}
