package dev.procurator.controllers.clusters;

import static org.assertj.core.api.Assertions.assertThat;

import dev.procurator.api.runtime.ObjectKey;
import dev.procurator.api.v1alpha1.Cluster;
import dev.procurator.api.v1alpha1.Revisions;
import dev.procurator.api.v1alpha1.VM;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.api.model.apps.ControllerRevision;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class OwnWritesTest {
  private static final ObjectKey WEB = ObjectKey.of("default", "web");
  private static final ObjectKey DB = ObjectKey.of("default", "db");

  private static VM vm(String name, boolean deleting) {
    VM vm = new VM();
    vm.setMetadata(new ObjectMetaBuilder().withName(name).withNamespace("default")
        .withDeletionTimestamp(deleting ? "2026-12-03T15:00:00Z" : null).build());
    return vm;
  }

  @Test
  void aCacheIsTrustedWhenThePassesWroteNothing() {
    assertThat(new OwnWrites().shownBy(WEB, List.of())).isTrue();
  }

  @Test
  void aCreatedVmMustBeInTheCacheBeforeItIsTrusted() {
    OwnWrites w = new OwnWrites();
    w.created(WEB, "web-a");
    assertThat(w.shownBy(WEB, List.of(vm("web-b", false)))).as("web-a not shown yet").isFalse();
    assertThat(w.shownBy(DB, List.of())).as("another Cluster's writes are its own").isTrue();
    assertThat(w.shownBy(WEB, List.of(vm("web-a", false), vm("web-b", false)))).isTrue();
    assertThat(w.shownBy(WEB, List.of())).as("a write once shown is forgotten").isTrue();
  }

  @Test
  void aDeletedVmMustBeGoneOrDeletingInTheCache() {
    OwnWrites w = new OwnWrites();
    w.deleted(WEB, "web-a");
    w.deleted(WEB, "web-b");
    assertThat(w.shownBy(WEB, List.of(vm("web-a", false), vm("web-b", true)))).isFalse();
    assertThat(w.shownBy(WEB, List.of(vm("web-a", true)))).isTrue();
  }

  @Test
  void aFailedWriteSendsTheNextPassToTheApiForEverythingUntilItHasRead() {
    OwnWrites w = new OwnWrites();
    w.unknown(WEB);
    assertThat(w.shownBy(WEB, List.of(vm("web-a", false)))).isFalse();
    assertThat(w.revisionsShownBy(WEB, List.of())).isFalse();
    assertThat(w.clusterShownBy(WEB, cluster("100"))).isFalse();
    w.vmsFromApi(WEB);
    assertThat(w.shownBy(WEB, List.of())).isTrue();
    assertThat(w.revisionsShownBy(WEB, List.of())).as("each kind is cleared by its own read").isFalse();
    w.revisionsFromApi(WEB);
    w.clusterFromApi(WEB);
    assertThat(w.revisionsShownBy(WEB, List.of())).isTrue();
    assertThat(w.clusterShownBy(WEB, cluster("100"))).isTrue();
  }

  @Test
  void aReadFromTheApiShowsEveryEarlierWrite() {
    OwnWrites w = new OwnWrites();
    w.created(WEB, "web-a");
    w.deleted(WEB, "web-b");
    w.vmsFromApi(WEB);
    assertThat(w.shownBy(WEB, List.of(vm("web-b", false)))).isTrue();
  }

  @Test
  void theClusterIsTrustedOnceTheCacheHoldsTheLastVersionWritten() {
    OwnWrites w = new OwnWrites();
    assertThat(w.clusterShownBy(WEB, null)).as("not in the cache: read it").isFalse();
    assertThat(w.clusterShownBy(WEB, cluster("7"))).isTrue();
    w.wroteCluster(WEB, "120");
    assertThat(w.clusterShownBy(WEB, cluster("119"))).as("older than the status just written").isFalse();
    assertThat(w.clusterShownBy(WEB, cluster("125"))).as("a later write by anyone shows ours").isTrue();
    assertThat(w.clusterShownBy(WEB, cluster("3"))).as("forgotten once shown").isTrue();
    w.wroteCluster(WEB, "not-a-number");
    assertThat(w.clusterShownBy(WEB, cluster("999"))).as("versions it cannot compare: the API").isFalse();
  }

  @Test
  void revisionsAreTrustedOnceTheCacheShowsTheirCreatesDeletesAndOutcomes() {
    OwnWrites w = new OwnWrites();
    w.revisionCreated(WEB, "web-r2");
    w.revisionDeleted(WEB, "web-r0");
    w.revisionMarked(WEB, "web-r1", "Failed");
    assertThat(w.revisionsShownBy(WEB, List.of(revision("web-r0", null), revision("web-r1", null)))).isFalse();
    assertThat(w.revisionsShownBy(WEB, List.of(revision("web-r1", null), revision("web-r2", null)))).as("r1 not marked yet").isFalse();
    assertThat(w.revisionsShownBy(WEB, List.of(revision("web-r1", "Failed"), revision("web-r2", null)))).isTrue();
  }

  private static Cluster cluster(String resourceVersion) {
    Cluster c = new Cluster();
    c.setMetadata(new ObjectMetaBuilder().withName("web").withNamespace("default").withResourceVersion(resourceVersion).build());
    return c;
  }

  private static ControllerRevision revision(String name, String outcome) {
    ControllerRevision r = new ControllerRevision();
    r.setMetadata(new ObjectMetaBuilder().withName(name).withNamespace("default")
        .withAnnotations(outcome == null ? Map.of() : Map.of(Revisions.OUTCOME_ANNOTATION, outcome)).build());
    return r;
  }

  @Test
  void aClusterThatIsGoneWaitsForNothing() {
    OwnWrites w = new OwnWrites();
    w.created(WEB, "web-a");
    w.forget(WEB);
    assertThat(w.shownBy(WEB, List.of())).isTrue();
  }
}
