package dev.procurator.pctl;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.time.Duration;
import java.util.Base64;
import org.junit.jupiter.api.Test;
import java.util.Locale;

/**
 * The closures of a Cluster's live and kept revisions are pinned in {@code pctl up}'s binary cache,
 * unpinned when they leave history, and unpinned when the Cluster goes. No VM needs to run for
 * this (there is no node agent), so the closures need not exist.
 */
class ClusterPinsIT {
  static final String V1 = "/nix/store/0c3ghl2pfmxw7kxq2hyd5d44fbxrhz0y-web-v1";
  /** The controller writes the Cluster too, so an edit is a merge patch, which needs no resourceVersion. */
  static final String MERGE = "application/merge-patch+json";
  static final String V2 = "/nix/store/1f7jnyq3cgd2wz0w6nm1r5q3f9xdk3a6-web-v2";

  private static String pins(PctlUp up) throws Exception {
    String token = Files.readString(up.dataDir.resolve("cache-read-token")).trim();
    HttpResponse<String> r = HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + up.cachePort + "/pins"))
        .header("Authorization", "Basic " + Base64.getEncoder().encodeToString(("nix:" + token).getBytes(StandardCharsets.UTF_8))).build(),
        HttpResponse.BodyHandlers.ofString());
    assertThat(r.statusCode()).isEqualTo(200);
    return r.body();
  }

  private static String cluster(String closure, int historyLimit) {
    return String.format(Locale.ROOT, """
        {"apiVersion":"procurator.dev/v1alpha1","kind":"Cluster","metadata":{"name":"pinned"},
         "spec":{"revisionHistoryLimit":%d,"templates":[{"name":"web","replicas":1,
                 "spec":{"cpu":1,"memory":"128Mi","boot":{"closure":"%s"}}}]}}""", historyLimit, closure);
  }

  @Test
  void liveAndKeptRevisionsArePinnedAndUnpinnedWhenTheyLeave() throws Exception {
    try (PctlUp up = PctlUp.system("--no-agent")) {
      String path = "/apis/procurator.dev/v1alpha1/namespaces/default/clusters";
      assertThat(up.request("POST", path, cluster(V1, 5)).statusCode()).isEqualTo(201);
      await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> assertThat(pins(up)).contains(hash(V1)));

      // a new revision: both are pinned, the old one being history a rollback may need
      assertThat(up.request("PATCH", path + "/pinned", MERGE, cluster(V2, 5)).statusCode()).isEqualTo(200);
      await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> assertThat(pins(up)).contains(hash(V1), hash(V2)));
      // and rollout history names each revision's closure
      PctlRun history = PctlRun.run(up.kubeconfig(), "rollout", "history", "cluster/pinned");
      assertThat(history.code()).as(history.err()).isZero();
      assertThat(history.out().lines().toList()).hasSize(3)
          .anySatisfy(l -> assertThat(l).startsWith("web").contains(" 1 ", V1))
          .anySatisfy(l -> assertThat(l).startsWith("web").contains(" 2 ", V2));

      // no history kept: the old closure leaves it and is unpinned
      assertThat(up.request("PATCH", path + "/pinned", MERGE, cluster(V2, 0)).statusCode()).isEqualTo(200);
      await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> assertThat(pins(up)).contains(hash(V2)).doesNotContain(hash(V1)));

      // the Cluster goes: so do its pins, and then the Cluster itself
      assertThat(up.request("DELETE", path + "/pinned", null).statusCode()).isEqualTo(200);
      await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> {
        assertThat(pins(up)).doesNotContain(hash(V2));
        assertThat(up.request("GET", path + "/pinned", null).statusCode()).isEqualTo(404);
      });
    }
  }

  private static String hash(String storePath) {
    return storePath.substring("/nix/store/".length(), "/nix/store/".length() + 32);
  }
}
