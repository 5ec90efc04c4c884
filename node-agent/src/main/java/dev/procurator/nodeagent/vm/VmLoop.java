package dev.procurator.nodeagent.vm;

import dev.procurator.api.runtime.Decision;
import dev.procurator.api.runtime.Finalizers;
import dev.procurator.api.runtime.Loop;
import dev.procurator.api.runtime.ObjectKey;
import dev.procurator.api.v1alpha1.NodeAgreements;
import dev.procurator.api.v1alpha1.VM;
import dev.procurator.api.v1alpha1.VMStatus;
import java.time.Clock;
import java.time.Duration;
import java.util.Objects;
import java.util.function.Predicate;

/**
 * The node agent's loop for the VMs bound to its node. {@link VmLifecycle#decide} is the whole
 * decision, from the VM and what the {@link VmHost} observes of its machine (files, processes and
 * consoles on this host: no call over the network); {@link #act} hands each action to the host,
 * which runs the slow ones (pull, start, stop) off the worker threads and puts the VM back on the
 * loop's queue when they end, as do the machine's exit, the guest's ready line and health checks.
 *
 * <p>A VM this node no longer has (deleted, bound elsewhere, or being deleted without the agent's
 * finalizer) is {@linkplain #forget forgotten}: its machine is stopped, then its files removed
 * ({@link VmLifecycle#gone}), each step woken by the end of the one before.
 */
public final class VmLoop implements Loop<VM, VMStatus, VmAction> {
  /** Timeouts and limits; the VM's own {@code bootTimeoutSeconds} wins over {@link #bootTimeout}. */
  public record Settings(Duration bootTimeout, Duration stopGrace, Duration restartBackoff, Duration maxRestartBackoff,
      long consoleCapBytes, Duration resync) {
    public static Settings defaults() {
      return new Settings(Duration.ofMinutes(2), Duration.ofSeconds(20), Duration.ofSeconds(1), Duration.ofMinutes(5),
          1 << 20, Duration.ofSeconds(30));
    }
  }

  private final VmHost host;
  private final Settings settings;
  private final Clock clock;

  public VmLoop(VmHost host, Settings settings, Clock clock) {
    this.host = host;
    this.settings = settings;
    this.clock = clock;
  }

  /**
   * The VMs node {@code node}'s loop looks after: those bound to it, unless they are being deleted
   * without the agent's finalizer (the node lifecycle controller took it when the node was lost):
   * such a VM is gone for this node, and its machine is stopped.
   */
  public static Predicate<VM> heldBy(String node) {
    return vm -> node.equals(vm.getSpec().nodeName()) && (!Finalizers.deleting(vm) || Finalizers.has(vm, NodeAgreements.AGENT_FINALIZER));
  }

  /**
   * Whether an update of a VM is worth a pass: a change of its spec, deletion or finalizers. A
   * change of status alone is this agent's own write coming back.
   */
  public static boolean matters(VM before, VM after) {
    return !Objects.equals(before.getSpec(), after.getSpec())
        || !Objects.equals(before.getMetadata().getDeletionTimestamp(), after.getMetadata().getDeletionTimestamp())
        || !Objects.equals(before.getMetadata().getFinalizers(), after.getMetadata().getFinalizers());
  }

  @Override
  public Decision<VMStatus, VmAction> decide(VM vm) {
    return VmLifecycle.decide(vm, host.observe(ObjectKey.of(vm), vm), clock.instant(), settings);
  }

  @Override
  public VM act(VM vm, VmAction action) {
    host.execute(ObjectKey.of(vm), vm, action);
    return vm;
  }

  @Override
  public void forget(ObjectKey key) {
    for (VmAction a : VmLifecycle.gone(host.observe(key, null))) {
      host.execute(key, null, a);
    }
  }
}
