package dev.procurator.controllers.clusters;

import dev.procurator.api.v1alpha1.VMSpec;

/** One thing {@link ClusterRollout#decide} asks for; the reconciler carries them out in order. */
public sealed interface RolloutAction {
  /** A VM of {@code template} at revision {@code hash}, owned by the Cluster. */
  record CreateVm(String template, String hash, VMSpec spec) implements RolloutAction {}

  /** Delete a VM of the Cluster (it powers off first). */
  record DeleteVm(String name, String why) implements RolloutAction {}

  /** Record a revision of a template as a ControllerRevision. */
  record CreateRevision(String template, String hash, long number, VMSpec spec) implements RolloutAction {}

  /** Say how a revision's rollout ended. */
  record MarkRevision(String name, String outcome, String message) implements RolloutAction {}

  /** Drop a revision from history. */
  record DeleteRevision(String name) implements RolloutAction {}

  /** Keep a closure in the binary cache whatever its size cap says. */
  record Pin(String closure) implements RolloutAction {}

  /** Let the binary cache evict a closure again. */
  record Unpin(String closure) implements RolloutAction {}
}
