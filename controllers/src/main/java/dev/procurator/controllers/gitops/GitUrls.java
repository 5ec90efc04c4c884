package dev.procurator.controllers.gitops;

import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.URI;
import java.net.UnknownHostException;
import java.util.Locale;

/**
 * Which remotes a GitRepository may name. A {@code file://} URL would read any repository on the
 * controllers' host, and an HTTP(S) URL whose host resolves to a loopback, link-local or private
 * address would reach services beside them; both are refused unless the controllers were started
 * allowing private remotes (as {@code pctl up} is, for a single host).
 */
final class GitUrls {
  private GitUrls() {}

  /** Why the URL is refused, or null when it may be fetched. */
  static String refusal(String url, boolean allowPrivate) {
    return refusal("spec.url", url, allowPrivate);
  }

  /** Why the URL is refused, or null when it may be fetched; {@code what} names where the URL was given ({@code spec.url}, a flake input). */
  static String refusal(String what, String url, boolean allowPrivate) {
    URI u;
    try {
      u = URI.create(url);
    } catch (IllegalArgumentException e) {
      return what + " is no URL: " + e.getMessage();
    }
    String scheme = u.getScheme() == null ? "" : u.getScheme().toLowerCase(Locale.ROOT);
    if (allowPrivate) {
      return null;
    }
    if (scheme.equals("file")) {
      return what + " " + url + " reads the controllers' own disk; file:// remotes are refused unless the controllers allow private remotes "
          + "(--allow-private-git-urls)";
    }
    if (!scheme.equals("http") && !scheme.equals("https") && !scheme.equals("ssh") && !scheme.equals("git")) {
      return null; // the fetch says which schemes it speaks
    }
    String host = u.getHost();
    if (host == null) {
      return what + " " + url + " names no host";
    }
    try {
      for (InetAddress a : InetAddress.getAllByName(host)) {
        if (isPrivate(a)) {
          return what + " " + url + ": " + host + " resolves to " + a.getHostAddress() + ", a loopback, link-local or private address; "
              + "such remotes are refused unless the controllers allow private remotes (--allow-private-git-urls)";
        }
      }
    } catch (UnknownHostException e) {
      return null; // the fetch reports the unknown host
    }
    return null;
  }

  /** Loopback, link-local, private (RFC 1918, RFC 6598 shared, IPv6 unique local) or unspecified. */
  static boolean isPrivate(InetAddress a) {
    if (a.isLoopbackAddress() || a.isLinkLocalAddress() || a.isSiteLocalAddress() || a.isAnyLocalAddress() || a.isMulticastAddress()) {
      return true;
    }
    byte[] b = a.getAddress();
    if (a instanceof Inet6Address) {
      if ((b[0] & 0xfe) == 0xfc) {
        return true; // fc00::/7
      }
      boolean v4Mapped = true;
      for (int i = 0; i < 10; i++) {
        v4Mapped &= b[i] == 0;
      }
      if (v4Mapped && (b[10] & 0xff) == 0xff && (b[11] & 0xff) == 0xff) {
        try {
          return isPrivate(InetAddress.getByAddress(new byte[] {b[12], b[13], b[14], b[15]}));
        } catch (UnknownHostException impossible) {
          return true;
        }
      }
      return false;
    }
    int first = b[0] & 0xff;
    int second = b[1] & 0xff;
    return first == 0 || (first == 100 && second >= 64 && second < 128);
  }
}
