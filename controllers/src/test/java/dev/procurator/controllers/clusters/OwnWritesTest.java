package dev.procurator.controllers.clusters;

import static org.assertj.core.api.Assertions.assertThat;

import dev.procurator.api.runtime.ObjectKey;
import dev.procurator.api.v1alpha1.VM;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import java.util.List;
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
  void aFailedWriteSendsTheNextPassToTheApiUntilItHasRead() {
    OwnWrites w = new OwnWrites();
    w.unknown(WEB);
    assertThat(w.shownBy(WEB, List.of(vm("web-a", false)))).isFalse();
    assertThat(w.shownBy(WEB, List.of(vm("web-a", false)))).isFalse();
    w.readFromApi(WEB);
    assertThat(w.shownBy(WEB, List.of())).isTrue();
  }

  @Test
  void aReadFromTheApiShowsEveryEarlierWrite() {
    OwnWrites w = new OwnWrites();
    w.created(WEB, "web-a");
    w.deleted(WEB, "web-b");
    w.readFromApi(WEB);
    assertThat(w.shownBy(WEB, List.of(vm("web-b", false)))).isTrue();
  }

  @Test
  void aClusterThatIsGoneWaitsForNothing() {
    OwnWrites w = new OwnWrites();
    w.created(WEB, "web-a");
    w.forget(WEB);
    assertThat(w.shownBy(WEB, List.of())).isTrue();
  }
}
