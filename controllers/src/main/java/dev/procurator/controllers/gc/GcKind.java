package dev.procurator.controllers.gc;

import io.fabric8.kubernetes.client.dsl.base.ResourceDefinitionContext;

/** A kind the garbage collector follows, as discovery describes it. */
public record GcKind(String group, String version, String kind, String plural, boolean namespaced) {
  public String apiVersion() {
    return group.isEmpty() ? version : group + "/" + version;
  }

  ResourceDefinitionContext context() {
    return new ResourceDefinitionContext.Builder().withGroup(group).withVersion(version).withKind(kind).withPlural(plural)
        .withNamespaced(namespaced).build();
  }

  /** Whether an owner reference's apiVersion and kind name this kind (any version of the group). */
  boolean matches(String refApiVersion, String refKind) {
    if (!kind.equals(refKind) || refApiVersion == null) {
      return false;
    }
    int slash = refApiVersion.indexOf('/');
    String g = slash < 0 ? "" : refApiVersion.substring(0, slash);
    return g.equals(group);
  }
}
