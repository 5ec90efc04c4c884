package dev.procurator.nodeagent.vm;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The files Cgroups writes, against a directory laid out like a cgroup v2 mount. */
class CgroupsTest {
  @Test
  void limitsEachVmInItsOwnGroup(@TempDir Path root) throws Exception {
    Files.writeString(root.resolve("cgroup.controllers"), "cpuset cpu io memory pids\n");
    Cgroups.Result r = Cgroups.detect(root, "node-a");
    assertThat(r.cgroups()).isPresent();
    assertThat(Files.readString(root.resolve("cgroup.subtree_control"))).isEqualTo("+cpu +memory");

    r.cgroups().get().place("default/web", 4242, 2, 256L << 20);
    Path g = root.resolve("procurator/node-a/default_web");
    assertThat(Files.readString(g.resolve("cpu.max"))).isEqualTo("200000 100000");
    assertThat(Files.readString(g.resolve("memory.max"))).isEqualTo(Long.toString((256L << 20) + (64L << 20)));
    assertThat(Files.readString(g.resolve("cgroup.procs"))).isEqualTo("4242");
  }

  @Test
  void saysWhyThereAreNoLimits(@TempDir Path root) throws Exception {
    assertThat(Cgroups.detect(root, "n").cgroups()).isEmpty();
    assertThat(Cgroups.detect(root, "n").description()).contains("no cgroup v2 hierarchy");
    Files.writeString(root.resolve("cgroup.controllers"), "pids io\n");
    assertThat(Cgroups.detect(root, "n").description()).contains("lacks the cpu or memory controller");
  }
}
