package dev.procurator.nodeagent.vm;

import dev.procurator.api.v1alpha1.VMSpec;
import java.util.List;

/**
 * One thing {@link VmLifecycle#decide} asks of the host, carried out by {@link VmLoop#act}. The fast
 * ones ({@link Release}, {@link WatchHealth}, {@link CountFailure}, {@link SyncSecrets}) happen in
 * the pass; the slow ones ({@link Resolve}, {@link Pull}, {@link PrepareStore}, {@link Start}, {@link Stop}) run off the worker threads and
 * put the VM back on the loop's queue when they end. The agent's finalizer is not an action: the
 * loop declares it, and a decision {@linkplain dev.procurator.api.runtime.Decision#release()
 * releases} a deleted VM once its machine and files are gone.
 */
public sealed interface VmAction {
  /** Ask the binary cache which store path a closure name stands for. */
  record Resolve(String name) implements VmAction {}

  /** Fetch the closure from the binary cache. */
  record Pull(String closure) implements VmAction {}

  /** Build the closure's store image (once per closure on this node), which its guests mount at /nix/store. */
  record PrepareStore(String closure) implements VmAction {}

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

  /** Write the running guest's Secrets into its shared folders (only what changed), so that it sees their current values. */
  record SyncSecrets() implements VmAction {}
}
