package dev.procurator.pctl;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.procurator.api.runtime.Conditions;
import dev.procurator.api.v1alpha1.GitRepository;
import dev.procurator.api.v1alpha1.GitRepositorySpec;
import dev.procurator.api.v1alpha1.GitRepositoryStatus;
import dev.procurator.api.v1alpha1.VM;
import dev.procurator.controllers.ControllerManager;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.Watch;
import io.fabric8.kubernetes.client.Watcher;
import io.fabric8.kubernetes.client.WatcherException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Two controller replicas and a sync under way: the leader is killed with -9 while it applies a
 * commit, a newer commit is pushed before anyone finishes, and the other replica takes the lead and
 * brings the cluster to exactly the newest commit, with nothing of the half-applied one left behind.
 */
class GitOpsFailoverIT {
  private static final int SIZE = 300;
  @TempDir Path tmp;

  private static Process controllers(PctlUp up, String id, Path out, Path gitCache) throws Exception {
    List<String> cmd = new ArrayList<>(List.of(PctlUp.java(), "--enable-native-access=ALL-UNNAMED", "-jar", PctlUp.jar().toString(),
        "--kubeconfig", up.kubeconfig().toString(), "controllers", "--id", id, "--git-cache-dir", gitCache.toString(), "--allow-private-git-urls"));
    return new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(out.toFile()).start();
  }

  private static String git(Path in, String... args) throws Exception {
    List<String> all = new ArrayList<>(List.of("git", "-c", "user.name=Test", "-c", "user.email=test@example.org"));
    all.addAll(List.of(args));
    Process p = new ProcessBuilder(all).directory(in.toFile()).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
    assertThat(p.exitValue()).as(String.join(" ", args) + ": " + out).isZero();
    return out;
  }

  /** Replaces the clone's manifests with {@code SIZE} VMs named {@code prefix-N}, commits and pushes; returns the commit. */
  private String generation(Path clone, Path bare, String prefix) throws Exception {
    Path dir = clone.resolve("vms");
    if (Files.exists(dir)) {
      try (var files = Files.list(dir)) {
        for (Path f : files.toList()) {
          Files.delete(f);
        }
      }
    }
    Files.createDirectories(dir);
    for (int i = 0; i < SIZE; i++) {
      Files.writeString(dir.resolve(prefix + "-" + i + ".yaml"), "apiVersion: procurator.dev/v1alpha1\nkind: VM\nmetadata:\n  name: " + prefix
          + "-" + i + "\nspec:\n  cpu: 1\n  memory: 128Mi\n  boot:\n    kernel: hello/vmlinux\n");
    }
    git(clone, "add", "-A");
    git(clone, "commit", "-q", "-m", prefix);
    git(clone, "push", "-q", bare.toString(), "main");
    return git(clone, "rev-parse", "HEAD").trim();
  }

  @Test
  void aLeaderKilledMidSyncLeavesNothingHalfPrunedAndTheNextLeaderFinishes() throws Exception {
    Path bare = tmp.resolve("fleet.git");
    Path clone = tmp.resolve("clone");
    git(tmp, "init", "-q", "--bare", "-b", "main", bare.toString());
    git(tmp, "init", "-q", "-b", "main", clone.toString());
    Map<String, Process> replicas = new ConcurrentHashMap<>();
    try (PctlUp up = PctlUp.start();
        KubernetesClient client = KubeClients.fromKubeconfig(up.kubeconfig())) {
      replicas.put("a", controllers(up, "a", tmp.resolve("a.out"), tmp.resolve("a-git")));
      replicas.put("b", controllers(up, "b", tmp.resolve("b.out"), tmp.resolve("b-git")));
      String first = generation(clone, bare, "one");
      GitRepository repo = new GitRepository();
      repo.setMetadata(new ObjectMetaBuilder().withName("fleet").withNamespace("default").build());
      repo.setSpec(new GitRepositorySpec("file://" + bare, "main", "vms", 1, true));
      client.resource(repo).create();
      await().atMost(Duration.ofMinutes(2)).until(() -> first.equals(status(client).lastAppliedCommit()));

      Set<String> added = ConcurrentHashMap.newKeySet();
      try (Watch w = client.resources(VM.class).inNamespace("default").watch(new Watcher<>() {
        @Override
        public void eventReceived(Action action, VM vm) {
          if (action == Action.ADDED) {
            added.add(vm.getMetadata().getName());
          }
        }

        @Override
        public void onClose(WatcherException cause) {}
      })) {
        // When the leader is applying the second commit
        generation(clone, bare, "two");
        await().atMost(Duration.ofMinutes(1)).until(() -> added.stream().anyMatch(n -> n.startsWith("two-")));
        String leader = client.leases().inNamespace(ControllerManager.LEASE_NAMESPACE).withName(ControllerManager.LEASE_NAME).get()
            .getSpec().getHolderIdentity();
        replicas.remove(leader).destroyForcibly().waitFor(10, TimeUnit.SECONDS);
        long appliedOfTwo = added.stream().filter(n -> n.startsWith("two-")).count();
        // the premise: the leader died in the middle of the second commit, with some of its VMs made and not all
        assertThat(appliedOfTwo).as("VMs of the second commit made when its leader died").isBetween(1L, SIZE - 1L);
        // and a third commit replaces it before anyone finished it
        String third = generation(clone, bare, "three");

        // Then the other replica leads and the cluster holds exactly the third commit
        String survivor = replicas.keySet().iterator().next();
        await().atMost(Duration.ofSeconds(60)).until(() -> survivor.equals(client.leases().inNamespace(ControllerManager.LEASE_NAMESPACE)
            .withName(ControllerManager.LEASE_NAME).get().getSpec().getHolderIdentity()));
        await().atMost(Duration.ofMinutes(2)).untilAsserted(() -> {
          GitRepositoryStatus s = status(client);
          assertThat(s.lastAppliedCommit()).isEqualTo(third);
          assertThat(Conditions.isTrue(s.conditions(), "Ready")).isTrue();
        });
        Set<String> names = client.resources(VM.class).inNamespace("default").list().getItems().stream()
            .filter(v -> v.getMetadata().getDeletionTimestamp() == null).map(v -> v.getMetadata().getName()).collect(Collectors.toSet());
        assertThat(names).as("killed after %d of the second commit's VMs", appliedOfTwo).hasSize(SIZE).allMatch(n -> n.startsWith("three-"));
        assertThat(status(client).inventory()).hasSize(SIZE).allMatch(e -> e.name().startsWith("three-"));
      }
    } finally {
      for (Process p : replicas.values()) {
        p.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
      }
      for (String f : List.of("a.out", "b.out")) {
        if (Files.exists(tmp.resolve(f))) {
          String out = Files.readString(tmp.resolve(f));
          System.out.println("---- " + f + "\n" + out.lines().filter(l -> l.contains("gitops") || l.contains("ERROR") || l.contains("lead"))
              .collect(Collectors.joining("\n")));
        }
      }
    }
  }

  private static GitRepositoryStatus status(KubernetesClient client) {
    GitRepository r = client.resources(GitRepository.class).inNamespace("default").withName("fleet").get();
    return r == null || r.getStatus() == null ? new GitRepositoryStatus(null, null, null, null, null, null, null, null) : r.getStatus();
  }
}
