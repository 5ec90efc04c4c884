package dev.procurator.controllers.gitops;

import io.fabric8.kubernetes.api.model.APIGroup;
import io.fabric8.kubernetes.api.model.APIResource;
import io.fabric8.kubernetes.api.model.APIResourceList;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.fabric8.kubernetes.client.dsl.base.ResourceDefinitionContext;
import dev.procurator.api.v1alpha1.GitRepositoryStatus.InventoryEntry;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/** What the API server serves, from its discovery documents: a kind's resource name and scope. Lives for one sync. */
final class Kinds {
  private final KubernetesClient client;
  private final Map<String, Map<String, APIResource>> byGroupVersion = new HashMap<>();
  private final Map<String, Optional<String>> preferred = new HashMap<>();

  Kinds(KubernetesClient client) {
    this.client = client;
  }

  /** The resource of {@code kind} in {@code apiVersion}, if the server serves it. */
  Optional<ResourceDefinitionContext> of(String apiVersion, String kind) {
    Map<String, APIResource> resources = byGroupVersion.computeIfAbsent(apiVersion, this::load);
    APIResource r = resources.get(kind);
    if (r == null) {
      return Optional.empty();
    }
    String group = apiVersion.contains("/") ? apiVersion.substring(0, apiVersion.indexOf('/')) : "";
    String version = apiVersion.contains("/") ? apiVersion.substring(apiVersion.indexOf('/') + 1) : apiVersion;
    return Optional.of(new ResourceDefinitionContext.Builder().withGroup(group).withVersion(version).withKind(kind)
        .withPlural(r.getName()).withNamespaced(Boolean.TRUE.equals(r.getNamespaced())).build());
  }

  /** The resource of {@code kind} in {@code group}'s preferred version: for objects known only by group and kind. */
  Optional<ResourceDefinitionContext> ofGroup(String group, String kind) {
    Optional<String> version = group == null || group.isEmpty() ? Optional.of("v1")
        : preferred.computeIfAbsent(group, g -> {
          try {
            APIGroup apiGroup = client.getApiGroup(g);
            return apiGroup == null || apiGroup.getPreferredVersion() == null ? Optional.empty()
                : Optional.of(apiGroup.getPreferredVersion().getGroupVersion());
          } catch (KubernetesClientException e) {
            return Optional.empty();
          }
        });
    return version.flatMap(v -> of(v.contains("/") || group == null || group.isEmpty() ? v : group + "/" + v, kind));
  }

  /** What the server serves for {@code manifests} and {@code inventory}: what a {@link SyncPlan} is worked out with. */
  SyncPlan.Served served(List<Manifests.Manifest> manifests, List<InventoryEntry> inventory) {
    Map<String, ResourceDefinitionContext> byVersion = new HashMap<>();
    Map<String, ResourceDefinitionContext> byGroup = new HashMap<>();
    for (Manifests.Manifest m : manifests) {
      of(m.apiVersion(), m.kind()).ifPresent(rc -> byVersion.put(m.apiVersion() + "|" + m.kind(), rc));
    }
    for (InventoryEntry e : inventory == null ? List.<InventoryEntry>of() : inventory) {
      String k = (e.group() == null ? "" : e.group()) + "|" + e.kind();
      if (!byGroup.containsKey(k)) {
        ofGroup(e.group(), e.kind()).ifPresent(rc -> byGroup.put(k, rc));
      }
    }
    return new SyncPlan.Served(byVersion, byGroup);
  }

  private Map<String, APIResource> load(String apiVersion) {
    Map<String, APIResource> out = new HashMap<>();
    try {
      APIResourceList list = client.getApiResources(apiVersion); // "v1" is the core group, as the garbage collector reads it
      if (list != null && list.getResources() != null) {
        for (APIResource r : list.getResources()) {
          if (!r.getName().contains("/")) {
            out.put(r.getKind(), r);
          }
        }
      }
    } catch (KubernetesClientException e) {
      if (e.getCode() != 404) {
        throw e;
      }
    }
    return out;
  }
}
