package dev.procurator.controllers.clusters;

import static org.assertj.core.api.Assertions.assertThat;

import dev.procurator.api.v1alpha1.Cluster;
import dev.procurator.api.v1alpha1.ClusterSpec;
import dev.procurator.api.v1alpha1.Revisions;
import dev.procurator.api.v1alpha1.VMSpec;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class NamedClosuresTest {
  static final String V1 = "/nix/store/0123456789abcdfghijklmnpqrsvwxyz-hello-guest-1";
  static final String V2 = "/nix/store/zyxwvsrqpnmlkjihgfdcba9876543210-hello-guest-2";

  static Cluster cluster(VMSpec.Boot... boots) {
    Cluster c = new Cluster();
    c.setMetadata(new ObjectMetaBuilder().withName("shop").withNamespace("default").withGeneration(3L).build());
    List<ClusterSpec.Template> templates = new java.util.ArrayList<>();
    for (int i = 0; i < boots.length; i++) {
      templates.add(new ClusterSpec.Template("t" + i, 2, new VMSpec(1, "128Mi", null, boots[i], null, null, null, null, null, null, null)));
    }
    c.setSpec(new ClusterSpec(templates, null, null, null, null, null));
    return c;
  }

  static Optional<ClosureNameTable.Snapshot> table(Map<String, String> names) {
    return Optional.of(ClosureNameTable.Snapshot.of(names));
  }

  @Test
  void aNameBecomesTheStorePathInTheTemplateAndSoInTheRevisionHash() {
    Cluster c = cluster(VMSpec.Boot.named("hello", "console=ttyS0"), new VMSpec.Boot(null, "k", "i", null));
    NamedClosures.Outcome o = NamedClosures.resolve(c, table(Map.of("hello", V1)));
    assertThat(o.problem()).isNull();
    VMSpec.Boot boot = o.cluster().getSpec().templates().get(0).spec().boot();
    assertThat(boot.closure()).isEqualTo(V1);
    assertThat(boot.closureName()).as("the name is kept beside the path it stood for").isEqualTo("hello");
    assertThat(boot.cmdline()).isEqualTo("console=ttyS0");
    assertThat(o.cluster().getSpec().templates().get(1)).as("a template booting files is left alone")
        .isEqualTo(c.getSpec().templates().get(1));
    assertThat(c.getSpec().templates().get(0).spec().boot().closure()).as("the Cluster read from the cache is not changed").isNull();

    String before = Revisions.hash(o.cluster().getSpec().templates().get(0).spec());
    String after = Revisions.hash(NamedClosures.resolve(c, table(Map.of("hello", V2))).cluster().getSpec().templates().get(0).spec());
    assertThat(after).as("a name that moves is a new revision").isNotEqualTo(before);
    String again = Revisions.hash(NamedClosures.resolve(c, table(Map.of("hello", V1, "other", V2))).cluster().getSpec().templates().get(0).spec());
    assertThat(again).as("the same path, the same revision").isEqualTo(before);
  }

  @Test
  void aClusterThatCannotResolveWaitsAndSaysWhy() {
    Cluster c = cluster(VMSpec.Boot.named("hello", null));
    assertThat(NamedClosures.resolve(c, table(Map.of("other", V1))).problem())
        .isEqualTo("no closure is named hello (template t0) in the binary cache (pctl closure list shows the names it has;"
            + " pctl closure name NAME PATH adds one)");
    assertThat(NamedClosures.resolve(c, Optional.empty()).problem()).contains("the controllers have no binary cache", "--cache-url");
    NamedClosures.Outcome unread = NamedClosures.resolve(c, Optional.of(new ClosureNameTable.Snapshot(Optional.empty(), null)));
    assertThat(unread.notYetRead()).isTrue();
    assertThat(unread.cluster()).isNull();
    assertThat(NamedClosures.resolve(c, Optional.of(new ClosureNameTable.Snapshot(Optional.empty(), "connection refused"))).problem())
        .isEqualTo("template t0 boots closure name hello, and the binary cache's closure names cannot be read: connection refused");
  }

  @Test
  void aTemplateWithARevisionKeepsItsPathWhileItsNameCannotBeResolved() {
    Cluster c = cluster(VMSpec.Boot.named("hello", null));
    Map<String, String> current = Map.of("t0", V1);
    for (Optional<ClosureNameTable.Snapshot> table : List.of(Optional.<ClosureNameTable.Snapshot>empty(),
        Optional.of(new ClosureNameTable.Snapshot(Optional.empty(), null)),
        Optional.of(new ClosureNameTable.Snapshot(Optional.empty(), "connection refused")), table(Map.of("other", V2)))) {
      NamedClosures.Outcome o = NamedClosures.resolve(c, table, current);
      assertThat(o.problem()).as("%s", table).isNull();
      assertThat(o.notYetRead()).isFalse();
      assertThat(o.cluster().getSpec().templates().get(0).spec().boot().closure()).as("it runs on, as its revision booted").isEqualTo(V1);
    }
    assertThat(NamedClosures.resolve(c, table(Map.of("other", V2)), current).warning())
        .isEqualTo("template t0 keeps " + V1 + " for closure name hello: the binary cache has no closure of that name now");
    assertThat(NamedClosures.resolve(c, table(Map.of("hello", V2)), current).cluster().getSpec().templates().get(0).spec().boot().closure())
        .as("once the name resolves, what it stands for now").isEqualTo(V2);
    assertThat(NamedClosures.resolve(c, table(Map.of("hello", V2)), current).warning()).isNull();
  }

  @Test
  void aClusterWithoutNamesNeedsNoTable() {
    Cluster c = cluster(new VMSpec.Boot(V1, null, null, null));
    assertThat(NamedClosures.resolve(c, Optional.empty()).cluster()).isSameAs(c);
    Cluster pinned = cluster(new VMSpec.Boot(V1, null, null, null, "hello"));
    assertThat(NamedClosures.resolve(pinned, table(Map.of("hello", V2))).cluster()).as("a path given with the name is kept").isSameAs(pinned);
  }
}
