package dev.procurator.controllers.gitops;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.procurator.api.v1alpha1.Build;
import dev.procurator.api.v1alpha1.BuildAgreements;
import dev.procurator.api.v1alpha1.BuildSpec;
import dev.procurator.api.v1alpha1.Cluster;
import dev.procurator.api.v1alpha1.GitRepository;
import dev.procurator.api.v1alpha1.GitRepositorySpec;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.api.model.OwnerReferenceBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import java.util.Comparator;
import java.util.List;
import java.util.Map;

/**
 * A GitRepository's {@code spec.build}: one Build per applied commit, named {@code REPO-SHA12}
 * and owned by the GitRepository; the oldest finished ones beyond {@code keep} go. And the one
 * rule that lets git and Builds share a Cluster: the template a Build deploys keeps its deployed
 * {@code boot} when git's manifest is applied again.
 */
final class CommitBuilds {
  private CommitBuilds() {}

  /** The Build of {@code commit}: the repository's name and the commit's first 12 hex digits. */
  static String name(GitRepository repo, String commit) {
    String base = repo.getMetadata().getName();
    base = base.length() > 240 ? base.substring(0, 240) : base;
    return base + "-" + commit.substring(0, 12);
  }

  /** The Build of the commit in force exists (created when not); old finished ones beyond {@code keep} are deleted. */
  static void ensure(KubernetesClient client, GitRepository repo, String commit) {
    GitRepositorySpec.BuildTemplate t = repo.getSpec().build();
    if (t == null) {
      return;
    }
    String ns = repo.getMetadata().getNamespace();
    String name = name(repo, commit);
    var builds = client.resources(Build.class).inNamespace(ns);
    if (builds.withName(name).get() == null) {
      Build b = new Build();
      b.setMetadata(new ObjectMetaBuilder().withName(name).withNamespace(ns)
          .withLabels(Map.of(BuildAgreements.GIT_REPOSITORY_LABEL, repo.getMetadata().getName()))
          .withAnnotations(Map.of(Cluster.GIT_COMMIT, commit))
          .withOwnerReferences(new OwnerReferenceBuilder().withApiVersion(repo.getApiVersion()).withKind(repo.getKind())
              .withName(repo.getMetadata().getName()).withUid(repo.getMetadata().getUid()).withController(true)
              .withBlockOwnerDeletion(false).build())
          .build());
      b.setSpec(new BuildSpec(null, t.attributes()).withSource(new BuildSpec.Source(repo.getMetadata().getName(), commit, t.dir()))
          .withDeploy(t.deploy()));
      try {
        builds.resource(b).create();
      } catch (KubernetesClientException e) {
        if (e.getCode() != 409) {
          throw e;
        }
      }
    }
    List<Build> mine = builds.withLabel(BuildAgreements.GIT_REPOSITORY_LABEL, repo.getMetadata().getName()).list().getItems().stream()
        .sorted(Comparator.comparing((Build b) -> String.valueOf(b.getMetadata().getCreationTimestamp())).thenComparing(b -> b.getMetadata().getName()))
        .toList();
    int excess = mine.size() - t.kept();
    for (Build b : mine) {
      if (excess <= 0) {
        break;
      }
      boolean finished = b.getStatus() != null && b.getStatus().phase() != null && b.getStatus().phase().finished();
      if (finished && !b.getMetadata().getName().equals(name)) {
        builds.withName(b.getMetadata().getName()).delete();
        excess--;
      }
    }
  }

  /**
   * Git's manifest of the Cluster that {@code spec.build.deploy} names, with the deployed template's
   * {@code boot} taken from the live Cluster once a Build has deployed there (the Cluster carries
   * the git-commit annotation): git sets everything else, the Builds set what boots.
   */
  static void keepDeployedBoot(GitRepository repo, ObjectNode config, JsonNode live) {
    GitRepositorySpec.BuildTemplate t = repo.getSpec().build();
    if (t == null || t.deploy() == null || live == null || !"Cluster".equals(config.path("kind").asText())
        || !t.deploy().cluster().equals(config.path("metadata").path("name").asText())
        || !live.path("metadata").path("annotations").has(Cluster.GIT_COMMIT)) {
      return;
    }
    JsonNode liveBoot = null;
    for (JsonNode tpl : live.path("spec").path("templates")) {
      if (t.deploy().template().equals(tpl.path("name").asText())) {
        liveBoot = tpl.path("spec").get("boot");
      }
    }
    if (liveBoot == null || !config.path("spec").path("templates").isArray()) {
      return;
    }
    for (JsonNode tpl : (ArrayNode) config.path("spec").path("templates")) {
      if (t.deploy().template().equals(tpl.path("name").asText()) && tpl.path("spec").isObject()) {
        ((ObjectNode) tpl.get("spec")).set("boot", liveBoot.deepCopy());
      }
    }
  }
}
