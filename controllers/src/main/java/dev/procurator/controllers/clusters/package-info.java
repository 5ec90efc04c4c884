/**
 * The Cluster controller. {@link dev.procurator.controllers.clusters.ClusterLoop} reads a
 * Cluster, the VMs and revisions it owns, lets {@link dev.procurator.controllers.clusters.ClusterRollout}
 * decide, and carries out the {@link dev.procurator.controllers.clusters.RolloutAction}s. The
 * decision is pure: {@code TemplateRollout} rolls each template toward its target revision
 * (failure, rollback, revision history, status) and asks the Cluster's {@code RolloutStrategy}
 * ({@code RollingUpdate}, {@code BlueGreen}, {@code Canary}) which VMs to create and delete,
 * given a {@code Situation} of immutable values; {@code Health} is the one place VMs are counted
 * as ready and available.
 */
package dev.procurator.controllers.clusters;
