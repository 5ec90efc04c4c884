package dev.procurator.apiserver.authz;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.List;

/**
 * One RBAC PolicyRule: verbs on resources of API groups (optionally only the named objects), or
 * verbs on non-resource URLs. {@code *} matches anything.
 */
public record Rule(List<String> verbs, List<String> apiGroups, List<String> resources, List<String> resourceNames,
    List<String> nonResourceURLs) {

  public Rule {
    verbs = List.copyOf(verbs);
    apiGroups = List.copyOf(apiGroups);
    resources = List.copyOf(resources);
    resourceNames = List.copyOf(resourceNames);
    nonResourceURLs = List.copyOf(nonResourceURLs);
  }

  public static Rule resources(List<String> apiGroups, List<String> resources, List<String> verbs) {
    return new Rule(verbs, apiGroups, resources, List.of(), List.of());
  }

  public static Rule urls(List<String> urls, List<String> verbs) {
    return new Rule(verbs, List.of(), List.of(), List.of(), urls);
  }

  /** The rule a PolicyRule object states; missing lists are empty. */
  public static Rule of(JsonNode n) {
    return new Rule(strings(n.path("verbs")), strings(n.path("apiGroups")), strings(n.path("resources")),
        strings(n.path("resourceNames")), strings(n.path("nonResourceURLs")));
  }

  private static List<String> strings(JsonNode n) {
    List<String> out = new ArrayList<>();
    n.forEach(v -> out.add(v.asText()));
    return out;
  }

  /** Whether this rule allows the request. */
  public boolean matches(Attributes a) {
    if (!has(verbs, a.verb())) {
      return false;
    }
    if (!a.isResourceRequest()) {
      return nonResourceURLs.stream().anyMatch(u -> u.equals("*") || u.equals(a.path())
          || (u.endsWith("*") && a.path().startsWith(u.substring(0, u.length() - 1))));
    }
    if (!has(apiGroups, a.apiGroup())) {
      return false;
    }
    String combined = a.combinedResource();
    boolean resource = resources.contains("*") || resources.contains(combined)
        || (a.subresource() != null && resources.contains("*/" + a.subresource()));
    return resource && (resourceNames.isEmpty() || (a.name() != null && resourceNames.contains(a.name())));
  }

  private static boolean has(List<String> values, String v) {
    return values.contains("*") || values.contains(v);
  }
}
