package dev.procurator.controllers.scheduler;

import static org.assertj.core.api.Assertions.assertThat;

import dev.procurator.api.v1alpha1.Hypervisor;
import dev.procurator.api.v1alpha1.Node;
import dev.procurator.api.v1alpha1.NodeSpec;
import dev.procurator.api.v1alpha1.NodeStatus;
import dev.procurator.api.v1alpha1.VM;
import dev.procurator.api.v1alpha1.VMSpec;
import io.fabric8.kubernetes.api.model.ConditionBuilder;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class PlacementTest {
  private static Node node(String name, boolean unschedulable, List<Hypervisor> hv, String cpu, String mem) {
    Node n = new Node();
    n.setMetadata(new ObjectMetaBuilder().withName(name).withLabels(Map.of()).build());
    n.setSpec(new NodeSpec(unschedulable, null));
    n.setStatus(new NodeStatus(Map.of("cpu", cpu, "memory", mem), null, null, hv,
        List.of(new ConditionBuilder().withType("Ready").withStatus("True").build()), false, 0));
    return n;
  }

  private static VM vm(String name, int cpu, String mem, Hypervisor hv, String nodeName) {
    VM v = new VM();
    v.setMetadata(new ObjectMetaBuilder().withName(name).build());
    v.setSpec(new VMSpec(cpu, mem, hv, new VMSpec.Boot(null, "k", null, null), nodeName, null, null, null, null, null, null));
    return v;
  }

  @Test
  void countsWhatIsAlreadyBoundAndSpreads() {
    List<Node> nodes = List.of(node("a", false, List.of(Hypervisor.QEMU), "2", "1Gi"), node("b", false, List.of(Hypervisor.QEMU), "2", "1Gi"));
    List<VM> bound = List.of(vm("x", 1, "512Mi", null, "a"));
    assertThat(Placement.decide(vm("new", 1, "256Mi", null, null), nodes, bound).node()).hasValue("b");
    List<VM> full = List.of(vm("x", 2, "512Mi", null, "a"), vm("y", 1, "1Gi", null, "b"));
    Placement.Decision d = Placement.decide(vm("new", 1, "256Mi", null, null), nodes, full);
    assertThat(d.node()).isEmpty();
    assertThat(d.reason()).contains("1 too few free CPUs", "1 too little free memory");
  }

  @Test
  void skipsUnschedulableNodesAndNodesWithoutTheHypervisor() {
    List<Node> nodes = List.of(node("cordoned", true, List.of(Hypervisor.QEMU), "8", "8Gi"),
        node("fc-only", false, List.of(Hypervisor.FIRECRACKER), "8", "8Gi"));
    Placement.Decision d = Placement.decide(vm("new", 1, "128Mi", Hypervisor.QEMU, null), nodes, List.of());
    assertThat(d.node()).isEmpty();
    assertThat(d.reason()).isEqualTo("0/2 nodes can run it: 1 unschedulable, 1 no qemu hypervisor");
    assertThat(Placement.decide(vm("fc", 1, "128Mi", Hypervisor.FIRECRACKER, null), nodes, List.of()).node()).hasValue("fc-only");
  }

  private static Node withImages(Node n, String... files) {
    List<NodeStatus.Image> images = java.util.Arrays.stream(files).map(f -> new NodeStatus.Image(List.of(f, "/srv/images/" + f), 1L)).toList();
    n.setStatus(n.getStatus().withImages(images));
    return n;
  }

  private static VM booting(String kernel, String initrd, String closure) {
    VM v = vm("boot", 1, "64Mi", null, null);
    v.setSpec(new VMSpec(1, "64Mi", null, new VMSpec.Boot(closure, kernel, initrd, null), null, null, null, null, null, null, null));
    return v;
  }

  @Test
  void aVmBootedFromFilesGoesOnlyWhereTheFilesAre() {
    List<Node> nodes = List.of(withImages(node("empty", false, List.of(Hypervisor.QEMU), "8", "8Gi")),
        withImages(node("kernel-only", false, List.of(Hypervisor.QEMU), "8", "8Gi"), "hello/vmlinux"),
        withImages(node("both", false, List.of(Hypervisor.QEMU), "1", "64Mi"), "hello/vmlinux", "hello/initrd.cpio.gz"));
    assertThat(Placement.decide(booting("hello/vmlinux", "./hello/initrd.cpio.gz", null), nodes, List.of()).node())
        .as("the smallest node, because only it has both files").hasValue("both");
    assertThat(Placement.decide(booting("/srv/images/hello/vmlinux", null, null), nodes, List.of()).node())
        .as("an absolute path is one of a file's names too").hasValue("kernel-only");
    Placement.Decision none = Placement.decide(booting("other/vmlinux", null, null), nodes, List.of());
    assertThat(none.node()).isEmpty();
    assertThat(none.reason()).isEqualTo("0/3 nodes can run it: 3 no boot file other/vmlinux");
    assertThat(Placement.decide(booting(null, null, "/nix/store/abc-hello"), nodes, List.of()).node())
        .as("a closure comes from the cache: files do not matter").isPresent();
    assertThat(Placement.decide(booting("other/vmlinux", null, null), List.of(node("old-agent", false, List.of(Hypervisor.QEMU), "8", "8Gi")),
        List.of()).node()).as("a node that reports no images is not ruled out").hasValue("old-agent");
  }

  private static Node holding(Node n, boolean binaryCache, String closure, String... names) {
    List<String> all = new java.util.ArrayList<>(List.of(closure));
    all.addAll(List.of(names));
    n.setStatus(n.getStatus().withImages(List.of(new NodeStatus.Image(all, 50_000_000L))).withBinaryCache(binaryCache));
    return n;
  }

  private static Node cache(Node n, boolean binaryCache) {
    n.setStatus(n.getStatus().withImages(List.of()).withBinaryCache(binaryCache));
    return n;
  }

  private static VM named(String name, String closureName, String nodeName) {
    VM v = vm(name, 1, "128Mi", null, nodeName);
    v.setSpec(v.getSpec().withBoot(VMSpec.Boot.named(closureName, null)));
    return v;
  }

  static final String HELLO = "/nix/store/0123456789abcdfghijklmnpqrsvwxyz-hello-guest";

  @Test
  void aClosurePrefersNodesThatHoldItThenSpreadsAndNeedsACacheElsewhere() {
    List<Node> nodes = List.of(cache(node("a", false, List.of(Hypervisor.QEMU), "8", "8Gi"), true),
        holding(node("b", false, List.of(Hypervisor.QEMU), "8", "8Gi"), true, HELLO, "hello"));
    assertThat(Placement.decide(named("v1", "hello", null), nodes, List.of()).node()).as("image locality: b holds hello").hasValue("b");
    VM byPath = vm("p", 1, "128Mi", null, null);
    byPath.setSpec(byPath.getSpec().withBoot(new VMSpec.Boot(HELLO, null, null, null)));
    assertThat(Placement.decide(byPath, nodes, List.of()).node()).as("by store path too").hasValue("b");
    // with two 1-vCPU VMs on b already, a is the less loaded by more than holding the closure is worth
    List<VM> onB = List.of(named("x", "hello", "b"), named("y", "hello", "b"));
    assertThat(Placement.decide(named("v3", "hello", null), nodes, onB).node()).as("spread wins over locality in the end").hasValue("a");
    assertThat(Placement.decide(named("v2", "hello", null), nodes, List.of(named("x", "hello", "b"))).node())
        .as("one VM less free is worth less than holding it").hasValue("b");

    List<Node> noCache = List.of(cache(node("a", false, List.of(Hypervisor.QEMU), "8", "8Gi"), false),
        holding(node("b", false, List.of(Hypervisor.QEMU), "1", "1Gi"), false, HELLO, "hello"));
    assertThat(Placement.decide(named("v", "hello", null), noCache, List.of()).reason())
        .as("a name is resolved through a cache, whoever holds what it stood for last")
        .isEqualTo("0/2 nodes can run it: 2 no binary cache to resolve closure name hello with");
    VM pathOnly = vm("p", 1, "128Mi", null, null);
    pathOnly.setSpec(pathOnly.getSpec().withBoot(new VMSpec.Boot(HELLO, null, null, null)));
    assertThat(Placement.decide(pathOnly, List.of(noCache.get(0)), List.of()).node())
        .as("a store path may be in a store built there: a node without a cache that does not say it holds it is not ruled out")
        .hasValue("a");
    List<Node> olderAgent = List.of(node("old", false, List.of(Hypervisor.QEMU), "8", "8Gi"));
    assertThat(Placement.decide(named("v", "hello", null), olderAgent, List.of()).node())
        .as("an agent that does not say it has a cache does not know closure names either").isEmpty();
    Node fileNamedLikeIt = withImages(node("files", false, List.of(Hypervisor.QEMU), "8", "8Gi"), "hello");
    assertThat(Placement.holdsClosure(named("v", "hello", null), fileNamedLikeIt.getStatus())).as("a boot file is no closure").isFalse();
  }
}
