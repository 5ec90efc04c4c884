package dev.procurator.controllers.clusters;

import dev.procurator.api.runtime.Conditions;
import dev.procurator.api.v1alpha1.ClusterSpec;
import dev.procurator.api.v1alpha1.VM;
import dev.procurator.api.v1alpha1.VMPhase;
import io.fabric8.kubernetes.api.model.Condition;
import java.time.Duration;
import java.time.Instant;
import java.util.Collection;
import java.util.List;
import java.util.Optional;

/**
 * Which VMs count, at one moment: a VM is <em>ready</em> while it runs and is Healthy (Booted, for a
 * VM without health checks), and <em>available</em> once it has been ready for {@code minReady}.
 * Every strategy and the status count VMs this one way.
 */
record Health(Duration minReady, Instant now) {
  static Health of(ClusterSpec spec, Instant now) {
    Integer s = spec.strategy() == null ? null : spec.strategy().minReadySeconds();
    return new Health(Duration.ofSeconds(s == null ? 0 : s), now);
  }

  /** Whether the VM runs and is healthy (Booted, for a VM without health checks). */
  static boolean ready(VM vm) {
    return readySince(vm) != null;
  }

  /** Since when the VM has been ready, or null when it is not. */
  static Instant readySince(VM vm) {
    if (vm.getMetadata().getDeletionTimestamp() != null || vm.getStatus() == null || vm.getStatus().phase() != VMPhase.RUNNING) {
      return null;
    }
    List<Condition> cs = vm.getStatus().conditions();
    boolean checked = vm.getSpec().healthChecks() != null && !vm.getSpec().healthChecks().isEmpty();
    Optional<Condition> c = Conditions.find(cs, checked ? "Healthy" : "Booted");
    if (c.isEmpty() || !Conditions.TRUE.equals(c.get().getStatus())) {
      return null;
    }
    return ClusterRollout.time(c.get().getLastTransitionTime(), Instant.EPOCH);
  }

  /** Ready for {@code minReady} by now. */
  boolean available(VM vm) {
    Instant since = readySince(vm);
    return since != null && !now.isBefore(since.plus(minReady));
  }

  long available(Collection<VM> vms) {
    return vms.stream().filter(this::available).count();
  }

  /** Whether there are exactly {@code replicas} of {@code vms} and every one is available. */
  boolean allAvailable(List<VM> vms, int replicas) {
    return vms.size() == replicas && vms.stream().allMatch(this::available);
  }

  /** When the first of {@code vms} that is ready but not yet available will be, or null. */
  Instant nextAvailable(Collection<VM> vms) {
    Instant first = null;
    for (VM vm : vms) {
      Instant since = readySince(vm);
      Instant at = since == null ? null : since.plus(minReady);
      if (at != null && now.isBefore(at) && (first == null || at.isBefore(first))) {
        first = at;
      }
    }
    return first;
  }
}
