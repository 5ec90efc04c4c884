package dev.procurator.controllers.gc;

import static org.assertj.core.api.Assertions.assertThat;

import dev.procurator.api.runtime.ObjectKey;
import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.ConfigMapBuilder;
import io.fabric8.kubernetes.api.model.OwnerReferenceBuilder;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The garbage collector's decision for one object, as a table of owners and dependents. */
class CascadeTest {
  static final GcKind KIND = new GcKind("", "v1", "ConfigMap", "configmaps", true);
  static final GcKey CHILD = new GcKey(KIND, ObjectKey.of("ns", "child"));
  static final GcKey OTHER = new GcKey(KIND, ObjectKey.of("ns", "other"));

  static ConfigMap object(boolean deleting, List<String> finalizers, String... ownerUids) {
    var b = new ConfigMapBuilder().withNewMetadata().withNamespace("ns").withName("o").withUid("self").withFinalizers(finalizers)
        .withDeletionTimestamp(deleting ? "2026-01-01T00:00:00Z" : null).endMetadata();
    for (String uid : ownerUids) {
      b.editMetadata().addToOwnerReferences(new OwnerReferenceBuilder().withApiVersion("v1").withKind("ConfigMap").withName("owner-" + uid)
          .withUid(uid).build()).endMetadata();
    }
    return b.build();
  }

  static List<Cascade.Action> decide(ConfigMap o, Map<String, Cascade.Owner> owners, List<Cascade.Dependent> deps) {
    return Cascade.<Void>decide(o, owners, deps).actions();
  }

  @Test
  void anObjectWhoseOwnersAreAllGoneIsDeleted() {
    assertThat(decide(object(false, List.of(), "a"), Map.of("a", Cascade.Owner.ABSENT), List.of()))
        .containsExactly(new Cascade.Action.DeleteSelf("its owner ConfigMap/owner-a is gone"));
    assertThat(decide(object(false, List.of(), "a", "b"), Map.of("a", Cascade.Owner.ABSENT, "b", Cascade.Owner.ABSENT), List.of()))
        .containsExactly(new Cascade.Action.DeleteSelf("its owners are gone"));
  }

  @Test
  void oneOwnerLeftOrOneThatCannotBeFoundOutKeepsIt() {
    assertThat(decide(object(false, List.of(), "a", "b"), Map.of("a", Cascade.Owner.ABSENT, "b", Cascade.Owner.PRESENT), List.of())).isEmpty();
    assertThat(decide(object(false, List.of(), "a"), Map.of("a", Cascade.Owner.UNKNOWN), List.of())).isEmpty();
    assertThat(decide(object(false, List.of()), Map.of(), List.of())).as("owned by nothing").isEmpty();
  }

  @Test
  void aForegroundDeletionDeletesTheDependentsNotYetGoingThenReleasesTheOwner() {
    ConfigMap owner = object(true, List.of(Cascade.FOREGROUND));
    assertThat(decide(owner, Map.of(), List.of(new Cascade.Dependent(CHILD, false), new Cascade.Dependent(OTHER, true))))
        .containsExactly(new Cascade.Action.DeleteDependent(CHILD));
    assertThat(decide(owner, Map.of(), List.of())).containsExactly(new Cascade.Action.RemoveFinalizer(Cascade.FOREGROUND));
  }

  @Test
  void anOrphaningDeletionLetsEveryDependentGoThenReleasesTheOwner() {
    ConfigMap owner = object(true, List.of(Cascade.ORPHAN));
    assertThat(decide(owner, Map.of(), List.of(new Cascade.Dependent(CHILD, false), new Cascade.Dependent(OTHER, true))))
        .containsExactly(new Cascade.Action.Orphan(CHILD), new Cascade.Action.Orphan(OTHER));
    assertThat(decide(owner, Map.of(), List.of())).containsExactly(new Cascade.Action.RemoveFinalizer(Cascade.ORPHAN));
  }

  @Test
  void anObjectAlreadyBeingDeletedIsNotDeletedAgain() {
    assertThat(decide(object(true, List.of(), "a"), Map.of("a", Cascade.Owner.ABSENT), List.of())).isEmpty();
  }
}
