package dev.procurator.apiserver.authz;

import dev.procurator.apiserver.auth.UserInfo;

/**
 * What a request asks to do, as Kubernetes' authorizers see it.
 *
 * @param verb get, list, watch, create, update, patch, delete or deletecollection (lowercase HTTP
 *     method for a non-resource path)
 * @param apiGroup empty for the core group; null for a non-resource request
 * @param resource the plural; null for a non-resource request
 * @param subresource status, log, or null
 * @param namespace null for cluster-wide requests and cluster-scoped kinds
 * @param name null for collections and creates
 * @param path the request path, for non-resource requests
 * @param fieldSelector the request's field selector (lists and watches), or null
 */
public record Attributes(UserInfo user, String verb, String apiGroup, String resource, String subresource, String namespace,
    String name, String path, String fieldSelector) {

  public static Attributes resource(UserInfo user, String verb, String apiGroup, String resource, String subresource,
      String namespace, String name) {
    return new Attributes(user, verb, apiGroup, resource, subresource, namespace, name, null, null);
  }

  public static Attributes nonResource(UserInfo user, String verb, String path) {
    return new Attributes(user, verb, null, null, null, null, null, path, null);
  }

  public boolean isResourceRequest() {
    return resource != null;
  }

  /** {@code vms/status} for a subresource, else the plural alone. */
  public String combinedResource() {
    return subresource == null ? resource : resource + "/" + subresource;
  }

  public Attributes withFieldSelector(String selector) {
    return new Attributes(user, verb, apiGroup, resource, subresource, namespace, name, path, selector);
  }

  /**
   * Why a request is refused, worded as Kubernetes words it: {@code User "bob" cannot create
   * resource "vms" in API group "procurator.dev" in the namespace "default"}.
   */
  public String denial() {
    String who = "User \"" + user.name() + "\"";
    if (!isResourceRequest()) {
      return who + " cannot " + verb + " path \"" + path + "\"";
    }
    StringBuilder sb = new StringBuilder(who).append(" cannot ").append(verb).append(" resource \"").append(combinedResource())
        .append("\" in API group \"").append(apiGroup).append("\"");
    if (namespace != null) {
      sb.append(" in the namespace \"").append(namespace).append("\"");
    } else {
      sb.append(" at the cluster scope");
    }
    return sb.toString();
  }
}
