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
