package dev.procurator.controllers.gc;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.procurator.apiserver.testing.TestNames;
import dev.procurator.api.v1alpha1.Cluster;
import dev.procurator.api.v1alpha1.ClusterSpec;
import dev.procurator.api.v1alpha1.VM;
import dev.procurator.api.v1alpha1.VMSpec;
import dev.procurator.apiserver.testing.TestApiServer;
import dev.procurator.controllers.ControllerManager;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.api.model.OwnerReferenceBuilder;
import io.fabric8.kubernetes.api.model.apps.ControllerRevision;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * Deleting an owner through kubectl, with each propagation policy, and what becomes of its
 * dependents: a Cluster's VMs and ControllerRevisions (made by the Cluster controller), and a chain
 * of owners made by hand. No node runs the VMs, so they go as soon as they are deleted.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class GarbageCollectionIT {
  private TestApiServer api;
  private KubernetesClient client;
  private ControllerManager controllers;
  private String ns;

  @BeforeAll
  void start() throws Exception {
    api = TestApiServer.embedded();
    client = api.client();
    controllers = new ControllerManager(client, ControllerManager.Config.defaults("gc-it")
        .withLeaderTimings(Duration.ofSeconds(4), Duration.ofSeconds(3), Duration.ofMillis(300)), Clock.systemUTC()).start();
    await().atMost(Duration.ofSeconds(20)).until(controllers::leading);
  }

  @AfterAll
  void stop() {
    controllers.close();
    api.close();
  }

  @BeforeEach
  void namespace() {
    ns = TestNames.unique("gc");
  }

  private String kubectl(String... args) throws Exception {
    TestApiServer.Kubectl run = api.kubectl(null, args);
    assertThat(run.exit()).as(String.join(" ", args) + ": " + run.output()).isZero();
    return run.output();
  }

  /** A Cluster of {@code replicas} VMs, once its controller has made them and recorded its revision. */
  private Cluster cluster(String name, int replicas) {
    Cluster c = new Cluster();
    c.setMetadata(new ObjectMetaBuilder().withName(name).withNamespace(ns).build());
    c.setSpec(new ClusterSpec(List.of(new ClusterSpec.Template("web", replicas, new VMSpec(1, "128Mi", null,
        new VMSpec.Boot(null, "hello/vmlinux", null, null), null, null, null, null, null, null, null))), null, null, null, null, null));
    Cluster created = client.resource(c).create();
    await().atMost(Duration.ofSeconds(20)).until(() -> vms(name).size() == replicas && !revisions(name).isEmpty());
    return created;
  }

  private List<VM> vms(String cluster) {
    return client.resources(VM.class).inNamespace(ns).withLabel("procurator.dev/cluster", cluster).list().getItems();
  }

  private List<ControllerRevision> revisions(String cluster) {
    return client.resources(ControllerRevision.class).inNamespace(ns).withLabel("procurator.dev/cluster", cluster).list().getItems();
  }

  @Test
  void backgroundDeletionRemovesTheOwnerAtOnceAndItsDependentsAfter() throws Exception {
    cluster("bg", 2);
    kubectl("delete", "cluster", "bg", "-n", ns, "--wait=false");
    assertThat(client.resources(Cluster.class).inNamespace(ns).withName("bg").get()).isNull();
    await().atMost(Duration.ofSeconds(20)).until(() -> vms("bg").isEmpty() && revisions("bg").isEmpty());
  }

  @Test
  void foregroundDeletionKeepsTheOwnerUntilItsDependentsAreGone() throws Exception {
    Cluster c = cluster("fg", 2);
    // a dependent that cannot go at once: it carries a finalizer of its own
    VM held = vms("fg").getFirst();
    client.resources(VM.class).inNamespace(ns).withName(held.getMetadata().getName()).edit(v -> {
      v.getMetadata().getFinalizers().add("example.com/hold");
      return v;
    });
    kubectl("delete", "cluster", "fg", "-n", ns, "--cascade=foreground", "--wait=false");
    await().atMost(Duration.ofSeconds(20)).untilAsserted(() -> {
      Cluster owner = client.resources(Cluster.class).inNamespace(ns).withName("fg").get();
      assertThat(owner).isNotNull();
      assertThat(owner.getMetadata().getFinalizers()).contains("foregroundDeletion");
      assertThat(vms("fg")).singleElement().satisfies(v -> assertThat(v.getMetadata().getDeletionTimestamp()).isNotNull());
    });
    assertThat(kubectl("get", "cluster", "fg", "-n", ns, "-o", "jsonpath={.metadata.deletionTimestamp}")).isNotBlank();
    // When the last dependent goes, Then so does the owner
    client.resources(VM.class).inNamespace(ns).withName(held.getMetadata().getName()).edit(v -> {
      v.getMetadata().getFinalizers().remove("example.com/hold");
      return v;
    });
    await().atMost(Duration.ofSeconds(20)).until(() -> client.resources(Cluster.class).inNamespace(ns).withName("fg").get() == null);
    assertThat(vms("fg")).isEmpty();
    assertThat(c.getMetadata().getUid()).isNotBlank();
  }

  @Test
  void orphanDeletionLeavesTheDependentsWithoutTheirOwner() throws Exception {
    cluster("or", 2);
    kubectl("delete", "cluster", "or", "-n", ns, "--cascade=orphan");
    await().atMost(Duration.ofSeconds(20)).until(() -> client.resources(Cluster.class).inNamespace(ns).withName("or").get() == null);
    await().atMost(Duration.ofSeconds(20)).untilAsserted(() -> assertThat(vms("or")).hasSize(2)
        .allSatisfy(v -> assertThat(v.getMetadata().getOwnerReferences()).isEmpty()));
    assertThat(revisions("or")).isNotEmpty().allSatisfy(r -> assertThat(r.getMetadata().getOwnerReferences()).isEmpty());
  }

  @Test
  void aChainOfOwnersIsCollectedLinkByLink() throws Exception {
    VM root = vm("root", null);
    VM middle = vm("middle", root);
    vm("leaf", middle);
    kubectl("delete", "vm", "root", "-n", ns);
    await().atMost(Duration.ofSeconds(20)).until(() -> client.resources(VM.class).inNamespace(ns).list().getItems().isEmpty());
  }

  @Test
  void anObjectWhoseOwnerNeverExistedIsCollected() {
    VM ghostOwner = new VM();
    ghostOwner.setMetadata(new ObjectMetaBuilder().withName("ghost").withUid("00000000-0000-0000-0000-000000000000").build());
    ghostOwner.setApiVersion("procurator.dev/v1alpha1");
    ghostOwner.setKind("VM");
    vm("dangling", ghostOwner);
    await().atMost(Duration.ofSeconds(20)).until(() -> client.resources(VM.class).inNamespace(ns).withName("dangling").get() == null);
  }

  private VM vm(String name, VM owner) {
    VM vm = new VM();
    ObjectMetaBuilder meta = new ObjectMetaBuilder().withName(name).withNamespace(ns);
    if (owner != null) {
      meta.withOwnerReferences(new OwnerReferenceBuilder().withApiVersion("procurator.dev/v1alpha1").withKind("VM")
          .withName(owner.getMetadata().getName()).withUid(owner.getMetadata().getUid()).build());
    }
    vm.setMetadata(meta.build());
    vm.setSpec(new VMSpec(1, "128Mi", null, new VMSpec.Boot(null, "k", null, null), null, null, null, null, null, null, null));
    return client.resource(vm).create();
  }
}
