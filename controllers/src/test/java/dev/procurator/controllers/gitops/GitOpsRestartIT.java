package dev.procurator.controllers.gitops;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.procurator.api.runtime.Conditions;
import dev.procurator.api.v1alpha1.GitRepository;
import dev.procurator.api.v1alpha1.GitRepositorySpec;
import dev.procurator.apiserver.testing.TestApiServer;
import dev.procurator.apiserver.testing.TestNames;
import dev.procurator.controllers.ControllerManager;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The controllers restart, or another replica takes the lead: a repository synced within its
 * interval is not fetched again before the interval has passed, because when it last synced is in
 * its status ({@code lastCompletedSyncTime}), not in the memory of the process that synced it.
 */
class GitOpsRestartIT {
  @TempDir
  Path dir;

  private static ControllerManager controllers(KubernetesClient client, String id, Path cache) {
    ControllerManager m = new ControllerManager(client, ControllerManager.Config.defaults(id)
        .withLeaderTimings(Duration.ofSeconds(4), Duration.ofSeconds(3), Duration.ofMillis(300)).withGitCacheDir(cache)
        .withPrivateGitUrls(true), Clock.systemUTC()).start();
    await().atMost(Duration.ofSeconds(30)).until(m::leading);
    return m;
  }

  private static void create(KubernetesClient client, String ns, String name, String url) {
    GitRepository r = new GitRepository();
    r.setMetadata(new ObjectMetaBuilder().withName(name).withNamespace(ns).build());
    r.setSpec(new GitRepositorySpec(url, "main", ".", 3600, true));
    client.resource(r).create();
  }

  private static void awaitApplied(KubernetesClient client, String ns, String name, String commit) {
    await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> {
      GitRepository r = client.resources(GitRepository.class).inNamespace(ns).withName(name).get();
      assertThat(r.getStatus()).isNotNull();
      assertThat(r.getStatus().lastAppliedCommit()).isEqualTo(commit);
      assertThat(Conditions.isTrue(r.getStatus().conditions(), GitSync.READY)).isTrue();
    });
  }

  @Test
  void aRepositorySyncedWithinItsIntervalIsNotFetchedAgainAfterTheControllersRestart() throws Exception {
    try (TestApiServer api = TestApiServer.embedded();
        Remote fleet = new Remote(dir, "fleet");
        Remote other = new Remote(dir, "other");
        GitServer git = new GitServer(dir, null, null)) {
      KubernetesClient client = api.client();
      String ns = TestNames.unique("restart");
      GitOpsIT.grant(client, ns, "admin");
      String web = fleet.push("web", Map.of("web.yaml", GitOpsIT.vm("web", 1)));
      String db = other.push("db", Map.of("db.yaml", GitOpsIT.vm("db", 1)));

      // Given a repository with an hour's interval, synced by the first controllers
      try (ControllerManager first = controllers(client, "restart-a", dir.resolve("cache-a"))) {
        create(client, ns, "fleet", git.url("fleet.git"));
        awaitApplied(client, ns, "fleet", web);
      }
      int fetched = git.fetches("fleet.git");
      assertThat(fetched).as("the first sync fetched").isPositive();
      assertThat(client.resources(GitRepository.class).inNamespace(ns).withName("fleet").get().getStatus().lastCompletedSyncTime())
          .isNotNull();

      // When other controllers (another process, another mirror) take over
      try (ControllerManager second = controllers(client, "restart-b", dir.resolve("cache-b"))) {
        // they are at work: a repository made now is synced
        create(client, ns, "other", git.url("other.git"));
        awaitApplied(client, ns, "other", db);

        // Then the repository synced minutes ago is left until its interval has passed
        await().during(Duration.ofSeconds(3)).atMost(Duration.ofSeconds(5)).until(() -> git.fetches("fleet.git") == fetched);
      }
    }
  }
}
