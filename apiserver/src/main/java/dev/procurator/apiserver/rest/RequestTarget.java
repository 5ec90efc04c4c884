package dev.procurator.apiserver.rest;

import dev.procurator.apiserver.registry.ApiException;

/**
 * What a request's path names, as Kubernetes lays its API out: a group's discovery document
 * ({@code /apis/GROUP}), a version's ({@code /apis/GROUP/VERSION}, {@code /api/v1}), or a
 * resource: {@code /apis/GROUP/VERSION[/namespaces/NS]/RESOURCE[/NAME[/SUBRESOURCE]]}, with the
 * core group under {@code /api/v1} and an empty group name. Pure: which resources exist is the
 * registry's to say.
 *
 * @param group the API group, empty for the core group
 * @param namespace null for cluster-wide requests
 * @param resource null for discovery paths
 * @param name null for collections
 * @param subresource null unless the path names one ({@code status}, {@code log})
 */
public record RequestTarget(Kind kind, String group, String version, String namespace, String resource, String name,
    String subresource) {

  public enum Kind { GROUP, VERSION, RESOURCE }

  /** The target of {@code path}; a path that names nothing in the API's layout is a 404. */
  public static RequestTarget parse(String path) {
    String p = path;
    while (p.length() > 1 && p.endsWith("/")) {
      p = p.substring(0, p.length() - 1);
    }
    if (!p.startsWith("/")) {
      throw notFound(path);
    }
    String[] s = p.substring(1).split("/", -1);
    for (String segment : s) {
      if (segment.isEmpty()) {
        throw notFound(path);
      }
    }
    int i;
    String group;
    String version;
    if (s[0].equals("api")) {
      if (s.length < 2) {
        throw notFound(path);
      }
      group = "";
      version = s[1];
      i = 2;
    } else if (s[0].equals("apis")) {
      if (s.length == 2) {
        return new RequestTarget(Kind.GROUP, s[1], null, null, null, null, null);
      }
      if (s.length < 3) {
        throw notFound(path);
      }
      group = s[1];
      version = s[2];
      i = 3;
    } else {
      throw notFound(path);
    }
    if (s.length == i) {
      return new RequestTarget(Kind.VERSION, group, version, null, null, null, null);
    }
    String namespace = null;
    int rest = s.length - i;
    // /namespaces/NS/RESOURCE...; but /namespaces/NAME and /namespaces/NAME/status are the Namespace itself
    if (s[i].equals("namespaces") && rest >= 3 && !(rest == 3 && group.isEmpty() && isNamespaceSubresource(s[i + 2]))) {
      namespace = s[i + 1];
      i += 2;
      rest -= 2;
    }
    if (rest > 3) {
      throw notFound(path);
    }
    return new RequestTarget(Kind.RESOURCE, group, version, namespace, s[i], rest > 1 ? s[i + 1] : null, rest > 2 ? s[i + 2] : null);
  }

  private static boolean isNamespaceSubresource(String s) {
    return s.equals("status") || s.equals("finalize");
  }

  private static ApiException notFound(String path) {
    return ApiException.notFound("the server could not find the requested resource (" + path + ")");
  }
}
