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
   * @param warning why some template runs on the path its current revision booted rather than what
   *     its name stands for now (the Cluster goes on; no new revision is made for that template), or null
   */
  public record Outcome(Cluster cluster, String problem, boolean notYetRead, String warning) {
    public Outcome(Cluster cluster, String problem, boolean notYetRead) {
      this(cluster, problem, notYetRead, null);
    }
  }

  /**
   * Resolves {@code cluster}'s closure names with {@code table} (empty when the controllers have no
   * binary cache). A Cluster that boots no closure by name is returned as it is.
   */
  public static Outcome resolve(Cluster cluster, Optional<ClosureNameTable.Snapshot> table) {
    return resolve(cluster, table, Map.of());
  }

  /**
   * As {@link #resolve(Cluster, Optional)}, with the store path each template's current revision
   * boots: a template whose name cannot be resolved now (unknown, or the cache's names unread or
   * unreadable) keeps running that path, so the Cluster still scales and heals while the cache is
   * away; only a template with no revision yet must wait.
   */
  public static Outcome resolve(Cluster cluster, Optional<ClosureNameTable.Snapshot> table, Map<String, String> current) {
    List<ClusterSpec.Template> templates = cluster.getSpec().templates();
    if (templates.stream().noneMatch(NamedClosures::unresolved)) {
      return new Outcome(cluster, null, false);
    }
    Optional<Map<String, String>> names = table.flatMap(ClosureNameTable.Snapshot::names);
    String why = table.isEmpty() ? "the controllers have no binary cache to resolve it with (pctl controllers --cache-url)"
        : names.isEmpty() && table.get().problem() != null ? "the binary cache's closure names cannot be read: " + table.get().problem()
        : names.isEmpty() ? null
        : "the binary cache has no closure of that name now";
    List<ClusterSpec.Template> resolved = new ArrayList<>();
    List<ClusterSpec.Template> waiting = new ArrayList<>();
    List<String> keptOn = new ArrayList<>();
    for (ClusterSpec.Template t : templates) {
      if (!unresolved(t)) {
        resolved.add(t);
        continue;
      }
      String name = t.spec().boot().closureName();
      String path = names.map(n -> n.get(name)).orElse(null);
      if (path == null && current.get(t.name()) != null) {
        path = current.get(t.name());
        keptOn.add("template " + t.name() + " keeps " + path + " for closure name " + name);
      }
      if (path == null) {
        waiting.add(t);
        continue;
      }
      resolved.add(t.withSpec(t.spec().withBoot(t.spec().boot().resolvedTo(path))));
    }
    if (!waiting.isEmpty()) {
      if (why == null) {
        return new Outcome(null, null, true);
      }
      if (names.isPresent()) {
        String unknown = waiting.stream().map(t -> t.spec().boot().closureName() + " (template " + t.name() + ")")
            .collect(java.util.stream.Collectors.joining(", "));
        return new Outcome(null, "no closure is named " + unknown + " in the binary cache (pctl closure list shows the names it has;"
            + " pctl closure name NAME PATH adds one)", false);
      }
      ClusterSpec.Template t = waiting.getFirst();
      return new Outcome(null, "template " + t.name() + " boots closure name " + t.spec().boot().closureName() + ", and " + why, false);
    }
    Cluster copy = new Cluster();
    copy.setApiVersion(cluster.getApiVersion());
    copy.setKind(cluster.getKind());
    copy.setMetadata(cluster.getMetadata());
    copy.setSpec(cluster.getSpec().withTemplates(resolved));
    copy.setStatus(cluster.getStatus());
    String warning = keptOn.isEmpty() ? null : String.join("; ", keptOn) + (why == null ? "" : ": " + why);
    return new Outcome(copy, null, false, warning);
  }

  private static boolean unresolved(ClusterSpec.Template t) {
    return t.spec() != null && t.spec().boot() != null && t.spec().boot().unresolved();
  }
}
