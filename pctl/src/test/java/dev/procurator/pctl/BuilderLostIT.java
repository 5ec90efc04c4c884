package dev.procurator.pctl;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.procurator.api.runtime.Conditions;
import dev.procurator.api.v1alpha1.Build;
import dev.procurator.api.v1alpha1.BuildAgreements;
import dev.procurator.api.v1alpha1.BuildPhase;
import dev.procurator.api.v1alpha1.BuildSpec;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import java.nio.charset.StandardCharsets;

/**
 * A builder host dies in the middle of a build (its agent and everything it started, killed with
 * -9): once its node is past its grace period, the Build goes back to the queue as its next
 * attempt, and the other builder builds and pushes it.
 */
class BuilderLostIT {
  @TempDir Path tmp;

  private static Process agent(PctlUp up, Path data, Path out, String name) throws IOException {
    List<String> cmd = new ArrayList<>(List.of(PctlUp.java(), "--enable-native-access=ALL-UNNAMED", "-jar", PctlUp.jar().toString(),
        "--kubeconfig", up.kubeconfig().toString(), "agent", "--name", name, "--data-dir", data.toString(), "--lease-duration", "8",
        "--labels", BuildAgreements.BUILDER_LABEL + "=true", "--build-cache-url", "http://127.0.0.1:" + up.cachePort,
        "--build-push-token-file", up.dataDir.resolve("cache-token").toString()));
    return new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(out.toFile()).start();
  }

  /** A host's death: everything the agent started, then the agent. */
  private static void killHost(Process agent) throws InterruptedException {
    agent.toHandle().descendants().forEach(ProcessHandle::destroyForcibly);
    agent.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
  }

  @Test
  void aBuildWhoseBuilderDiesGoesBackToTheQueueAndAnotherBuilderFinishesIt() throws Exception {
    // slow enough to be killed in the middle of
    Path flake = TestFlakes.oneDerivation(tmp.resolve("slow"), "slow", "echo started; /bin/sleep 15; echo done > $out");
    Process a = null;
    Process b = null;
    try (PctlUp up = PctlUp.withControllers("--node-grace-period", "5");
        KubernetesClient client = KubeClients.fromKubeconfig(up.kubeconfig())) {
      a = agent(up, tmp.resolve("a"), tmp.resolve("a.out"), "builder-a");
      await().atMost(Duration.ofSeconds(60)).until(() -> Files.readString(tmp.resolve("a.out")).contains("is up"));
      Build slow = new Build();
      slow.setMetadata(new ObjectMetaBuilder().withName("slow").withNamespace("default").build());
      slow.setSpec(new BuildSpec("path:" + flake, List.of("slow")));
      client.resource(slow).create();
      var builds = client.resources(Build.class).inNamespace("default");
      await().atMost(Duration.ofSeconds(60)).until(() -> {
        Build x = builds.withName("slow").get();
        return x.getStatus() != null && x.getStatus().phase() == BuildPhase.BUILDING && "builder-a".equals(x.getStatus().nodeName());
      });
      killHost(a);
      b = agent(up, tmp.resolve("b"), tmp.resolve("b.out"), "builder-b");
      // back in the queue as attempt 2 once builder-a is past its grace period, then built on builder-b
      await().atMost(Duration.ofSeconds(120)).until(() -> {
        Build x = builds.withName("slow").get();
        return x.getStatus() != null && x.getStatus().phase().finished();
      });
      Build done = builds.withName("slow").get();
      assertThat(done.getStatus().phase()).as(done.getStatus().message()).isEqualTo(BuildPhase.SUCCEEDED);
      assertThat(done.getStatus().attemptNumber()).isEqualTo(2);
      assertThat(done.getStatus().nodeName()).isEqualTo("builder-b");
      assertThat(Conditions.isTrue(done.getStatus().conditions(), BuildAgreements.READY)).isTrue();
      String out = done.getStatus().outputs().get("slow");
      assertThat(up.request("GET", "/apis/events.k8s.io/v1/namespaces/default/events", null).body()).contains("BuilderLost", "builder-a");
      // the cache has what builder-b pushed
      String token = Files.readString(up.dataDir.resolve("cache-read-token")).trim();
      var narinfo = java.net.http.HttpClient.newHttpClient().send(java.net.http.HttpRequest.newBuilder(java.net.URI.create(
              "http://127.0.0.1:" + up.cachePort + "/" + out.substring(11, 43) + ".narinfo"))
          .header("Authorization", "Basic " + java.util.Base64.getEncoder().encodeToString(("nix:" + token).getBytes(StandardCharsets.UTF_8))).build(),
          java.net.http.HttpResponse.BodyHandlers.ofString());
      assertThat(narinfo.statusCode()).isEqualTo(200);
      assertThat(narinfo.body()).contains("StorePath: " + out);
    } finally {
      if (a != null) {
        killHost(a);
      }
      if (b != null) {
        killHost(b);
      }
      for (String f : List.of("a.out", "b.out")) {
        if (Files.exists(tmp.resolve(f))) {
          System.out.println("---- " + f + "\n" + Files.readString(tmp.resolve(f)));
        }
      }
    }
  }
}
