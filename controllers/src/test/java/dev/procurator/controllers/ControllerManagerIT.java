package dev.procurator.controllers;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.procurator.api.v1alpha1.GitRepository;
import dev.procurator.api.v1alpha1.Hypervisor;
import dev.procurator.api.v1alpha1.Node;
import dev.procurator.api.v1alpha1.NodeSpec;
import dev.procurator.api.v1alpha1.NodeStatus;
import dev.procurator.api.v1alpha1.VM;
import dev.procurator.api.v1alpha1.VMPhase;
import dev.procurator.api.v1alpha1.VMSpec;
import dev.procurator.apiserver.testing.TestApiServer;
import dev.procurator.api.v1alpha1.NodeAgreements;
import io.fabric8.kubernetes.api.model.ConditionBuilder;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.api.model.coordination.v1.LeaseBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.utils.Serialization;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Clock;
import java.time.Duration;
import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.util.List;
import java.util.Map;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Two controller-manager replicas against one API server: one leads at a time, capacity is never
 * double-booked, the other takes over when the leader stops, and a node whose lease expires
 * becomes NotReady and has its VMs rescheduled after the grace period.
 */
class ControllerManagerIT {
  private static void node(KubernetesClient c, String name, Duration leaseFor, ZonedDateTime renewed) {
    Node n = new Node();
    n.setMetadata(new ObjectMetaBuilder().withName(name).build());
    n.setSpec(new NodeSpec(false, null));
    Node created = c.resources(Node.class).resource(n).create();
    created.setStatus(new NodeStatus(Map.of("cpu", "8", "memory", "1Gi"), null, null, List.of(Hypervisor.QEMU),
        List.of(new ConditionBuilder().withType("Ready").withStatus("True").withReason("AgentRunning")
            .withLastTransitionTime("2026-11-22T00:00:00Z").build()), false, 0));
    c.resources(Node.class).resource(created).updateStatus();
    lease(c, name, leaseFor, renewed);
  }

  private static void lease(KubernetesClient c, String name, Duration leaseFor, ZonedDateTime renewed) {
    var leases = c.leases().inNamespace(NodeAgreements.LEASE_NAMESPACE);
    if (leases.withName(name).get() == null) {
      leases.resource(new LeaseBuilder().withNewMetadata().withName(name).endMetadata()
          .withNewSpec().withHolderIdentity(name).withLeaseDurationSeconds((int) leaseFor.toSeconds()).withRenewTime(renewed).endSpec()
          .build()).create();
    } else {
      leases.withName(name).edit(l -> {
        l.getSpec().setLeaseDurationSeconds((int) leaseFor.toSeconds());
        l.getSpec().setRenewTime(renewed);
        return l;
      });
    }
  }

  private static void vm(KubernetesClient c, String name) {
    VM v = new VM();
    v.setMetadata(new ObjectMetaBuilder().withName(name).withNamespace("default").build());
    v.setSpec(new VMSpec(1, "256Mi", null, new VMSpec.Boot(null, "hello/vmlinux", null, null), null, null, null, null, null, null, null));
    c.resources(VM.class).inNamespace("default").resource(v).create();
  }

  private static String holder(io.fabric8.kubernetes.api.model.coordination.v1.Lease lease) {
    return lease == null || lease.getSpec().getHolderIdentity() == null ? "" : lease.getSpec().getHolderIdentity();
  }

  private static long boundTo(KubernetesClient c, String node) {
    return c.resources(VM.class).inNamespace("default").list().getItems().stream()
        .filter(v -> node.equals(v.getSpec().nodeName())).count();
  }

  private static String describe(KubernetesClient c) {
    StringBuilder b = new StringBuilder();
    for (VM v : c.resources(VM.class).inNamespace("default").list().getItems()) {
      b.append(v.getMetadata().getName()).append(" on ").append(v.getSpec().nodeName()).append(": ")
          .append(v.getStatus() == null ? "-" : v.getStatus().phase() + " " + v.getStatus().message()).append('\n');
    }
    return b.toString();
  }

  private static ZonedDateTime now() {
    return ZonedDateTime.now(ZoneOffset.UTC);
  }

  @Test
  void oneLeaderNoDoubleBookingTakeoverAndEvictionOfALostNode() throws Exception {
    try (TestApiServer api = TestApiServer.embedded()) {
      KubernetesClient c = api.client();
      var config = ControllerManager.Config.defaults("x").withNodeGracePeriod(Duration.ofSeconds(2))
          .withLeaderTimings(Duration.ofSeconds(4), Duration.ofSeconds(3), Duration.ofMillis(300));
      // every term each replica led, from before its first loop started to after its last one stopped, and
      // who held the lease at either end, as the API server had it then
      List<long[]> terms = new java.util.concurrent.CopyOnWriteArrayList<>();
      Map<String, String> holders = new java.util.concurrent.ConcurrentHashMap<>();
      String[] names = {"", "one", "two"};
      var slowStart = new java.util.concurrent.atomic.AtomicBoolean(true);
      java.util.function.Function<Integer, java.util.function.Consumer<Boolean>> record = who -> led -> {
        var lease = c.leases().inNamespace(ControllerManager.LEASE_NAMESPACE).withName(ControllerManager.LEASE_NAME).get();
        String holder = holder(lease);
        if (led) {
          int index;
          synchronized (terms) {
            terms.add(new long[] {who, System.nanoTime(), Long.MAX_VALUE});
            index = terms.size() - 1;
          }
          holders.put(who + "/" + index + "/start", holder);
          if (slowStart.compareAndSet(true, false)) {
            // the first term starts slowly, for longer than the lease lasts (as when the caches fill on a busy
            // host): its replica must go on renewing the lease meanwhile, or the other takes over beside it
            ZonedDateTime from = lease.getSpec().getRenewTime();
            await().atMost(Duration.ofSeconds(30)).until(() -> {
              var l = c.leases().inNamespace(ControllerManager.LEASE_NAMESPACE).withName(ControllerManager.LEASE_NAME).get();
              return !names[who].equals(holder(l)) || l.getSpec().getRenewTime().isAfter(from.plus(config.leaseDuration()));
            });
            holders.put("slow start", names[who] + "|"
                + holder(c.leases().inNamespace(ControllerManager.LEASE_NAMESPACE).withName(ControllerManager.LEASE_NAME).get()));
          }
        } else {
          for (int i = 0; i < terms.size(); i++) {
            long[] t = terms.get(i);
            if (t[0] == who && t[2] == Long.MAX_VALUE) {
              t[2] = System.nanoTime();
              // a lease given up keeps its holder, but only for a second: the duration says whether it was
              holders.put(who + "/" + i + "/end", holder + " for " + lease.getSpec().getLeaseDurationSeconds() + " s");
            }
          }
        }
      };
      ControllerManager one = new ControllerManager(c, config.withIdentity("one"), Clock.systemUTC()).onLeadership(record.apply(1)).start();
      ControllerManager two = new ControllerManager(api.client(), config.withIdentity("two"), Clock.systemUTC())
          .onLeadership(record.apply(2)).start();
      try {
        await().atMost(Duration.ofSeconds(20)).until(() -> one.leading() || two.leading());
        node(c, "a", Duration.ofHours(1), now());
        IntStream.range(0, 6).forEach(i -> vm(c, "vm-" + i));

        // Then exactly 4 fit on a (1Gi / 256Mi) and 2 wait, saying why
        await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> {
          assertThat(boundTo(c, "a")).isEqualTo(4);
          assertThat(c.resources(VM.class).inNamespace("default").list().getItems().stream()
              .filter(v -> v.getSpec().nodeName() == null && v.getStatus() != null && v.getStatus().phase() == VMPhase.PENDING)
              .count()).isEqualTo(2);
        });

        // When the leader stops, Then the other takes over and binds to a new node
        ControllerManager leader = one.leading() ? one : two;
        ControllerManager other = leader == one ? two : one;
        leader.close();
        await().atMost(Duration.ofSeconds(30)).until(other::leading);
        node(c, "b", Duration.ofHours(1), now());
        await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> assertThat(boundTo(c, "b")).as(() -> describe(c)).isEqualTo(2));

        // When a's lease expires, Then a is NotReady and, after the grace period, its VMs move to b (2 fit, 2 wait)
        lease(c, "a", Duration.ofSeconds(5), now().minusMinutes(5));
        await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> {
          Node a = c.resources(Node.class).withName("a").get();
          assertThat(a.getStatus().conditions()).anySatisfy(cond -> {
            assertThat(cond.getType()).isEqualTo("Ready");
            assertThat(cond.getStatus()).isEqualTo("False");
            assertThat(cond.getReason()).isEqualTo("NodeLeaseExpired");
          });
        });
        await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> {
          assertThat(boundTo(c, "a")).isZero();
          assertThat(boundTo(c, "b")).isEqualTo(4);
        });
        List<VM> moved = c.resources(VM.class).inNamespace("default").list().getItems().stream()
            .filter(v -> v.getStatus() != null && v.getStatus().conditions().stream().anyMatch(x -> x.getType().equals("Rescheduled")))
            .toList();
        assertThat(moved).hasSize(4).allSatisfy(v -> assertThat(v.getStatus().conditions()).anySatisfy(x -> {
          assertThat(x.getType()).isEqualTo("Rescheduled");
          assertThat(x.getMessage()).contains("node a stopped renewing its lease");
        }));
        // one leader at a time: each replica acts only while the lease is its own. It holds the lease when
        // its term starts, and the leader that was closed still held it when its last loop had stopped: it
        // gave the lease up only then, so the next leader could not start beside its loops, however briefly
        String[] slow = holders.get("slow start").split("\\|", -1);
        assertThat(slow[1]).as("the lease's holder once %s's slow start had lasted longer than the lease", slow[0]).isEqualTo(slow[0]);
        for (int i = 0; i < terms.size(); i++) {
          int who = (int) terms.get(i)[0];
          assertThat(holders.get(who + "/" + i + "/start")).as("the lease's holder as %s's term %d started", names[who], i)
              .isEqualTo(names[who]);
        }
        int closed = leader == one ? 1 : 2;
        int last = -1;
        for (int i = 0; i < terms.size(); i++) {
          if (terms.get(i)[0] == closed) {
            last = i;
          }
        }
        assertThat(holders.get(closed + "/" + last + "/end")).as("the lease when the closed leader's loops had all stopped")
            .isEqualTo(names[closed] + " for " + config.leaseDuration().toSeconds() + " s");
        // and no two terms of different replicas overlap, however short
        assertThat(terms).as("terms").hasSizeGreaterThanOrEqualTo(2);
        for (long[] a : terms) {
          for (long[] b : terms) {
            if (a[0] != b[0]) {
              assertThat(a[2] < b[1] || b[2] < a[1]).as("replica %d's term and replica %d's overlap", a[0], b[0]).isTrue();
            }
          }
        }
      } finally {
        one.close();
        two.close();
      }
    }
  }

  /**
   * With no folder given, GitRepositories are mirrored in a temporary folder made as mkdtemp(3)
   * makes one (a random name, 0700), not at a name another user of the host could make first,
   * and it goes when the controllers stop.
   */
  @Test
  void withoutAGitCacheDirTheMirrorsGoToAPrivateFolderWithARandomNameRemovedOnClose(@TempDir Path tmp) throws Exception {
    String tmpdir = System.getProperty("java.io.tmpdir");
    System.setProperty("java.io.tmpdir", tmp.toString());
    try (TestApiServer api = TestApiServer.embedded()) {
      KubernetesClient c = api.client();
      ControllerManager m = new ControllerManager(c, ControllerManager.Config.defaults("git").withPrivateGitUrls(true), Clock.systemUTC()).start();
      try {
        // a repository to mirror: its remote need not answer
        c.resources(GitRepository.class).inNamespace("default").resource(Serialization.unmarshal("""
            apiVersion: procurator.dev/v1alpha1
            kind: GitRepository
            metadata: {name: nowhere}
            spec: {url: "file:///nonexistent/repo.git"}
            """, GitRepository.class)).create();
        await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> assertThat(mirrors(tmp)).hasSize(1));
        Path dir = mirrors(tmp).getFirst();
        assertThat(dir.getFileName().toString()).isNotEqualTo("procurator-gitops-" + ProcessHandle.current().pid())
            .startsWith("procurator-gitops-");
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(dir))).isEqualTo("rwx------");
      } finally {
        m.close();
      }
      assertThat(mirrors(tmp)).isEmpty();
    } finally {
      System.setProperty("java.io.tmpdir", tmpdir);
    }
  }

  private static List<Path> mirrors(Path tmp) throws java.io.IOException {
    try (var list = Files.list(tmp)) {
      return list.filter(p -> p.getFileName().toString().startsWith("procurator-gitops-")).toList();
    }
  }
}
