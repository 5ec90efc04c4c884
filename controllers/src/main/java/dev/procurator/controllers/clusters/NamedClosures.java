package dev.procurator.controllers.clusters;

import dev.procurator.api.v1alpha1.Cluster;
import dev.procurator.api.v1alpha1.ClusterSpec;
import dev.procurator.api.v1alpha1.VMSpec;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * A Cluster's templates with the closure names they boot resolved to store paths, as a pure
 * function of the Cluster and the binary cache's names. The store path becomes part of the
 * template's spec ({@code boot.closure}, beside {@code boot.closureName}), so it is part of the
 * revision's hash and is recorded in its ControllerRevision: a name that moves later makes a new
 * revision, rolled out as any change is, never a silent change under running VMs.
 */
public final class NamedClosures {
  private NamedClosures() {}

  /**
   * The outcome: the Cluster to roll out (its templates resolved), or why it cannot be yet.
   *
   * @param cluster the resolved Cluster, or null
   * @param problem why the names could not be resolved (the Cluster waits, and says so), or null
   * @param notYetRead the names have not been read from the cache yet: look again shortly
   */
  public record Outcome(Cluster cluster, String problem, boolean notYetRead) {}

  /**
   * Resolves {@code cluster}'s closure names with {@code table} (empty when the controllers have no
   * binary cache). A Cluster that boots no closure by name is returned as it is.
   */
  public static Outcome resolve(Cluster cluster, Optional<ClosureNameTable.Snapshot> table) {
    List<ClusterSpec.Template> templates = cluster.getSpec().templates();
    if (templates.stream().noneMatch(NamedClosures::unresolved)) {
      return new Outcome(cluster, null, false);
    }
    if (table.isEmpty()) {
      ClusterSpec.Template t = templates.stream().filter(NamedClosures::unresolved).findFirst().orElseThrow();
      return new Outcome(null, "template " + t.name() + " boots closure name " + t.spec().boot().closureName()
          + ", and the controllers have no binary cache to resolve it with (pctl controllers --cache-url)", false);
    }
    ClosureNameTable.Snapshot snapshot = table.get();
    if (snapshot.names().isEmpty()) {
      return snapshot.problem() == null ? new Outcome(null, null, true)
          : new Outcome(null, "the binary cache's closure names cannot be read: " + snapshot.problem(), false);
    }
    Map<String, String> names = snapshot.names().get();
    List<ClusterSpec.Template> resolved = new ArrayList<>();
    List<String> unknown = new ArrayList<>();
    for (ClusterSpec.Template t : templates) {
      if (!unresolved(t)) {
        resolved.add(t);
        continue;
      }
      String path = names.get(t.spec().boot().closureName());
      if (path == null) {
        unknown.add(t.spec().boot().closureName() + " (template " + t.name() + ")");
        continue;
      }
      VMSpec.Boot boot = t.spec().boot().resolvedTo(path);
      resolved.add(t.withSpec(t.spec().withBoot(boot)));
    }
    if (!unknown.isEmpty()) {
      return new Outcome(null, "no closure is named " + String.join(", ", unknown) + " in the binary cache (pctl closure list shows"
          + " the names it has; pctl closure name NAME PATH adds one)", false);
    }
    Cluster copy = new Cluster();
    copy.setApiVersion(cluster.getApiVersion());
    copy.setKind(cluster.getKind());
    copy.setMetadata(cluster.getMetadata());
    copy.setSpec(cluster.getSpec().withTemplates(resolved));
    copy.setStatus(cluster.getStatus());
    return new Outcome(copy, null, false);
  }

  private static boolean unresolved(ClusterSpec.Template t) {
    return t.spec() != null && t.spec().boot() != null && t.spec().boot().unresolved();
  }
}
