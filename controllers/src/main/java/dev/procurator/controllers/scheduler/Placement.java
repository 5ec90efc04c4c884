package dev.procurator.controllers.scheduler;

import dev.procurator.api.v1alpha1.Hypervisor;
import dev.procurator.api.v1alpha1.Node;
import dev.procurator.api.v1alpha1.VM;
import dev.procurator.api.v1alpha1.Quantities;
import io.fabric8.kubernetes.api.model.Quantity;
import java.math.BigDecimal;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Collectors;

/** Where a VM fits, as a pure function of the VM, the nodes and what is already bound to them. */
public final class Placement {
  /** The chosen node, or none and the reason for each node that was passed over. */
  public record Decision(Optional<String> node, String reason) {}

  private Placement() {}

  static long bytes(String quantity) {
    return Quantities.bytes(quantity);
  }

  static long bytesOrZero(Map<String, String> map, String key) {
    return map == null || map.get(key) == null ? 0 : bytes(map.get(key));
  }

  static long cpusOrZero(Map<String, String> map) {
    return map == null || map.get("cpu") == null ? 0 : new BigDecimal(new Quantity(map.get("cpu")).getAmount()).longValue();
  }

  private static final com.fasterxml.jackson.databind.ObjectMapper JSON = new com.fasterxml.jackson.databind.ObjectMapper()
      .configure(com.fasterxml.jackson.databind.SerializationFeature.ORDER_MAP_ENTRIES_BY_KEYS, true);

  /**
   * What the VM asks to run, whichever node it is bound to: a short hash of its spec without
   * {@code nodeName}. (Not the generation: binding and unbinding change the spec, and with it the
   * generation, without changing what is booted.)
   */
  static String specKey(VM vm) {
    try {
      byte[] json = JSON.writeValueAsBytes(vm.getSpec().withNodeName(null));
      byte[] sha = java.security.MessageDigest.getInstance("SHA-256").digest(json);
      return java.util.HexFormat.of().formatHex(sha, 0, 6);
    } catch (com.fasterxml.jackson.core.JsonProcessingException | java.security.NoSuchAlgorithmException e) {
      throw new IllegalStateException("cannot hash a VM spec", e);
    }
  }

  /** The nodes that could not boot the VM's current spec ({@link VM#UNBOOTABLE_ON}). */
  static java.util.Set<String> unbootableOn(VM vm) {
    Map<String, String> a = vm.getMetadata().getAnnotations();
    String v = a == null ? null : a.get(VM.UNBOOTABLE_ON);
    int colon = v == null ? -1 : v.indexOf(':');
    if (colon < 0 || !v.substring(0, colon).equals(specKey(vm))) {
      return java.util.Set.of();
    }
    return java.util.Arrays.stream(v.substring(colon + 1).split(",")).filter(x -> !x.isBlank()).collect(Collectors.toSet());
  }

  /** The annotation value that adds {@code node} to the nodes that could not boot the VM. */
  static String unbootableOnWith(VM vm, String node) {
    java.util.TreeSet<String> nodes = new java.util.TreeSet<>(unbootableOn(vm));
    nodes.add(node);
    return specKey(vm) + ":" + String.join(",", nodes);
  }

  /**
   * The first of the VM's kernel and initrd files that {@code node} does not report in its images,
   * or null: a VM booted from files runs only where they are. (A node that reports no images at
   * all, an older agent, is not ruled out.)
   */
  static String missingBootFile(VM vm, dev.procurator.api.v1alpha1.NodeStatus node) {
    var boot = vm.getSpec().boot();
    if (boot == null || boot.bootsClosure()) {
      return null;
    }
    for (String f : java.util.Arrays.asList(boot.kernel(), boot.initrd())) {
      if (f != null && !node.mayHave(java.nio.file.Path.of(f).normalize().toString())) {
        return f;
      }
    }
    return null;
  }

  /**
   * What holding a VM's closure already is worth, in points of free share (0 to 100), as
   * kube-scheduler's ImageLocality score weighs a node that has a pod's image: enough to prefer that
   * node among nodes about as loaded, not so much that VMs pile onto it while others stand idle. On
   * a node of 8 schedulable vCPUs, it is worth a little less than two 1-vCPU VMs.
   */
  static final double LOCALITY_WEIGHT = 10;

  /** Whether {@code node} reports holding the closure {@code vm} boots, by store path or by closure name. */
  static boolean holdsClosure(VM vm, dev.procurator.api.v1alpha1.NodeStatus node) {
    var boot = vm.getSpec().boot();
    if (boot == null || !boot.bootsClosure()) {
      return false;
    }
    String name = boot.closure() != null ? boot.closure() : boot.closureName();
    // only a closure's entry (its first name a store path), never a boot file that happens to share the name
    return node.images() != null && node.images().stream().anyMatch(i -> i.names() != null && !i.names().isEmpty()
        && i.names().getFirst().startsWith("/nix/store/") && i.names().contains(name));
  }

  public static Decision decide(VM vm, List<Node> nodes, List<VM> bound) {
    Hypervisor wanted = vm.getSpec().hypervisor() == null ? Hypervisor.QEMU : vm.getSpec().hypervisor();
    long cpu = vm.getSpec().cpu();
    long mem = bytes(vm.getSpec().memory());
    Map<String, String> selector = vm.getSpec().nodeSelector() == null ? Map.of() : vm.getSpec().nodeSelector();
    Map<String, Integer> why = new LinkedHashMap<>();
    record Candidate(String name, double score) {}
    List<Candidate> fits = new ArrayList<>();
    // what each node already runs, in one pass over the bound VMs
    Map<String, long[]> used = new java.util.HashMap<>();
    for (VM b : bound) {
      String node = b.getSpec().nodeName();
      if (node != null && !node.isEmpty()) {
        long[] u = used.computeIfAbsent(node, k -> new long[2]);
        u[0] += b.getSpec().cpu();
        u[1] += bytes(b.getSpec().memory());
      }
    }
    for (Node n : nodes) {
      var st = n.getStatus();
      boolean ready = st != null && st.conditions() != null
          && st.conditions().stream().anyMatch(c -> c.getType().equals("Ready") && c.getStatus().equals("True"));
      if (!ready) {
        why.merge("not Ready", 1, Integer::sum);
        continue;
      }
      if (n.getSpec() != null && Boolean.TRUE.equals(n.getSpec().unschedulable())) {
        why.merge("unschedulable", 1, Integer::sum);
        continue;
      }
      if (st.hypervisors() == null || !st.hypervisors().contains(wanted)) {
        why.merge("no " + wanted.wire() + " hypervisor", 1, Integer::sum);
        continue;
      }
      Map<String, String> labels = n.getMetadata().getLabels() == null ? Map.of() : n.getMetadata().getLabels();
      if (!labels.entrySet().containsAll(selector.entrySet())) {
        why.merge("labels do not match nodeSelector", 1, Integer::sum);
        continue;
      }
      if (unbootableOn(vm).contains(n.getMetadata().getName())) {
        why.merge("could not boot it", 1, Integer::sum);
        continue;
      }
      String missing = missingBootFile(vm, st);
      if (missing != null) {
        why.merge("no boot file " + missing, 1, Integer::sum);
        continue;
      }
      boolean holds = holdsClosure(vm, st);
      // a name is resolved through the node's cache, so only a node with one can boot it; a store
      // path may be in a node's store without the node saying so (built there), so it rules no node out
      if (vm.getSpec().boot() != null && vm.getSpec().boot().unresolved() && !Boolean.TRUE.equals(st.binaryCache())) {
        why.merge("no binary cache to resolve closure name " + vm.getSpec().boot().closureName() + " with", 1, Integer::sum);
        continue;
      }
      long cpuCap = cpusOrZero(st.allocatable() != null ? st.allocatable() : st.capacity());
      long memCap = bytesOrZero(st.allocatable() != null ? st.allocatable() : st.capacity(), "memory");
      long[] u = used.getOrDefault(n.getMetadata().getName(), new long[2]);
      long cpuUsed = u[0];
      long memUsed = u[1];
      if (cpuUsed + cpu > cpuCap) {
        why.merge("too few free CPUs", 1, Integer::sum);
        continue;
      }
      if (memUsed + mem > memCap) {
        why.merge("too little free memory", 1, Integer::sum);
        continue;
      }
      double free = ((double) (cpuCap - cpuUsed - cpu) / Math.max(1, cpuCap) + (double) (memCap - memUsed - mem) / Math.max(1, memCap)) / 2;
      fits.add(new Candidate(n.getMetadata().getName(), 100 * free + (holds ? LOCALITY_WEIGHT : 0)));
    }
    if (fits.isEmpty()) {
      String reasons = why.entrySet().stream().map(e -> e.getValue() + " " + e.getKey()).collect(Collectors.joining(", "));
      return new Decision(Optional.empty(), "0/" + nodes.size() + " nodes can run it" + (reasons.isEmpty() ? "" : ": " + reasons));
    }
    // spread: the node left with the most free CPU and memory, as a share of what it has, with a
    // head start for one that holds the closure already; ties broken by name
    fits.sort(Comparator.comparingDouble(Candidate::score).reversed().thenComparing(Candidate::name));
    return new Decision(Optional.of(fits.get(0).name()), "bound to " + fits.get(0).name());
  }
}
