package dev.procurator.pctl;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.procurator.api.runtime.Conditions;
import dev.procurator.api.v1alpha1.Cluster;
import dev.procurator.api.v1alpha1.ClusterSpec;
import dev.procurator.api.v1alpha1.Revisions;
import dev.procurator.api.v1alpha1.RolloutStrategyType;
import dev.procurator.api.v1alpha1.VM;
import dev.procurator.controllers.ControllerManager;
import dev.procurator.nodeagent.NodeAgent;
import dev.procurator.nodeagent.testing.Guest;
import dev.procurator.nodeagent.vm.VmLoop;
import io.fabric8.kubernetes.api.model.IntOrString;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.api.model.apps.ControllerRevision;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.Watch;
import io.fabric8.kubernetes.client.Watcher;
import io.fabric8.kubernetes.client.WatcherException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Two controller replicas ({@code pctl controllers}, each its own JVM) and a rollout under way:
 * the leader is killed with -9 in the middle of it, and the other one takes the lead and
 * finishes it, with no VM of the new revision lost or made twice and no revision recorded twice.
 */
class ControllerFailoverIT {
  @TempDir Path tmp;

  private static Process controllers(PctlUp up, String id, Path out) throws Exception {
    List<String> cmd = new ArrayList<>(List.of(PctlUp.java(), "--enable-native-access=ALL-UNNAMED", "-jar", PctlUp.jar().toString(),
        "--kubeconfig", up.kubeconfig().toString(), "controllers", "--id", id));
    return new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(out.toFile()).start();
  }

  @Test
  void whenTheLeaderIsKilledMidRolloutTheOtherReplicaFinishesIt() throws Exception {
    Path images = Guest.images();
    Path agentDir = tmp.resolve("agent");
    Map<String, Process> replicas = new ConcurrentHashMap<>();
    try (PctlUp up = PctlUp.start();
        KubernetesClient client = KubeClients.fromKubeconfig(up.kubeconfig())) {
      VmLoop.Settings s = new VmLoop.Settings(Duration.ofMinutes(2), Duration.ofSeconds(10), Duration.ofMillis(500),
          Duration.ofSeconds(5), 1 << 20, Duration.ofSeconds(30));
      try (NodeAgent agent = new NodeAgent(client, NodeAgent.Config.of("node-a", agentDir).withImagesDir(images).withSettings(s),
          Clock.systemUTC()).start()) {
        replicas.put("a", controllers(up, "a", tmp.resolve("a.out")));
        replicas.put("b", controllers(up, "b", tmp.resolve("b.out")));

        Cluster c = new Cluster();
        c.setMetadata(new ObjectMetaBuilder().withName("web").withNamespace("default").build());
        // one VM at a time and none down: the rollout takes a while, so the leader dies in its middle
        ClusterSpec.Strategy oneByOne = new ClusterSpec.Strategy(RolloutStrategyType.ROLLING_UPDATE, new IntOrString(0), new IntOrString(1),
            null, null, null, null);
        c.setSpec(new ClusterSpec(List.of(new ClusterSpec.Template("web", 3, ClusterRolloutIT.GOOD_1)), oneByOne, null, null, 600, null));
        client.resource(c).create();
        awaitComplete(client);

        Set<String> created = ConcurrentHashMap.newKeySet();
        Set<String> deleted = ConcurrentHashMap.newKeySet();
        try (Watch w = client.resources(VM.class).inNamespace("default").watch(new Watcher<>() {
          @Override
          public void eventReceived(Action action, VM vm) {
            if (action == Action.ADDED) {
              created.add(vm.getMetadata().getName());
            }
            if (action == Action.DELETED || vm.getMetadata().getDeletionTimestamp() != null) {
              deleted.add(vm.getMetadata().getName());
            }
          }

          @Override
          public void onClose(WatcherException cause) {}
        })) {
          client.resources(Cluster.class).inNamespace("default").withName("web").edit(cl -> {
            ClusterSpec sp = cl.getSpec();
            cl.setSpec(new ClusterSpec(List.of(sp.templates().getFirst().withSpec(ClusterRolloutIT.GOOD_2)), sp.strategy(), null, null, 600,
                null));
            return cl;
          });
          String newHash = Revisions.hash(client.resources(Cluster.class).inNamespace("default").withName("web").get().getSpec()
              .templates().getFirst().spec());
          // When the rollout is under way (a VM of the new revision exists, not all of them yet)
          await().atMost(Duration.ofMinutes(2)).until(() -> created.stream().anyMatch(n -> n.contains(newHash)));
          String leader = client.leases().inNamespace(ControllerManager.LEASE_NAMESPACE).withName(ControllerManager.LEASE_NAME).get()
              .getSpec().getHolderIdentity();
          assertThat(replicas).containsKey(leader);
          Process killed = replicas.remove(leader);
          killed.destroyForcibly().waitFor(10, TimeUnit.SECONDS);

          // Then the other replica leads and finishes the rollout
          String survivor = replicas.keySet().iterator().next();
          await().atMost(Duration.ofSeconds(60)).until(() -> survivor.equals(client.leases().inNamespace(ControllerManager.LEASE_NAMESPACE)
              .withName(ControllerManager.LEASE_NAME).get().getSpec().getHolderIdentity()));
          awaitComplete(client);
          List<VM> end = client.resources(VM.class).inNamespace("default").list().getItems().stream()
              .filter(v -> v.getMetadata().getDeletionTimestamp() == null).toList();
          assertThat(end).hasSize(3).allSatisfy(v -> assertThat(v.getMetadata().getName()).contains(newHash));
          // no VM of the new revision was made twice, and none of them was lost
          assertThat(created.stream().filter(n -> n.contains(newHash))).hasSize(3);
          assertThat(deleted.stream().filter(n -> n.contains(newHash))).isEmpty();
          // each revision recorded once, numbered 1 and 2
          List<ControllerRevision> revisions = client.resources(ControllerRevision.class).inNamespace("default").list().getItems();
          assertThat(revisions).extracting(ControllerRevision::getRevision).containsExactlyInAnyOrder(1L, 2L);
        }
      }
    } finally {
      for (Process p : replicas.values()) {
        p.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
      }
      Guest.killMachines(agentDir);
      for (String f : List.of("a.out", "b.out")) {
        if (Files.exists(tmp.resolve(f))) {
          System.out.println("---- " + f + "\n" + Files.readString(tmp.resolve(f)));
        }
      }
    }
  }

  /** Waits until the Cluster's stored spec (defaults filled in) is rolled out. */
  private static void awaitComplete(KubernetesClient client) {
    await().atMost(Duration.ofMinutes(4)).untilAsserted(() -> {
      Cluster c = client.resources(Cluster.class).inNamespace("default").withName("web").get();
      String hash = Revisions.hash(c.getSpec().templates().getFirst().spec());
      assertThat(c.getStatus()).isNotNull();
      assertThat(c.getStatus().currentRevision()).isEqualTo(hash);
      assertThat(Conditions.reason(c.getStatus().conditions(), "Progressing")).isEqualTo("RolloutComplete");
    });
  }
}
