package dev.procurator.nodeagent.vm;

import dev.procurator.api.v1alpha1.VMSpec;
import java.util.List;

/**
 * One thing {@link VmLifecycle#decide} asks for. The fast ones ({@link AddFinalizer}, {@link
 * RemoveFinalizer}, {@link Release}, {@link WatchHealth}, {@link CountFailure}) happen in the pass;
 * the slow ones ({@link Pull}, {@link Start}, {@link Stop}) run off the worker threads and put the
 * VM back on the queue when they end.
 */
public sealed interface VmAction {
  /** Put the agent's finalizer on the VM, so it is not deleted while its machine may run. */
  record AddFinalizer() implements VmAction {}

  /** Let the VM go: its machine is stopped and its files are gone. */
  record RemoveFinalizer() implements VmAction {}

  /** Fetch the closure from the binary cache. */
  record Pull(String closure) implements VmAction {}

  /** Boot the VM (again, for a restart). */
  record Start(boolean restart) implements VmAction {}

  /** Power the machine off, and end it if it does not go within the grace period. */
  record Stop(String reason) implements VmAction {}

  /** Remove the VM's working directory, cgroup and tap device, and stop watching it. */
  record Release() implements VmAction {}

  /** Run these health checks against the running machine (idempotent: already running ones go on). */
  record WatchHealth(List<VMSpec.HealthCheck> checks) implements VmAction {
    public WatchHealth {
      checks = List.copyOf(checks);
    }
  }

  /** Count a failure of this reason in the agent's metrics. */
  record CountFailure(String reason) implements VmAction {}
}
