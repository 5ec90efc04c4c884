/**
 * The GitOps controller. {@link dev.procurator.controllers.gitops.GitOpsLoop} reads a
 * GitRepository, lets {@link dev.procurator.controllers.gitops.GitSync#decide} say what is due and
 * what status to write, and starts the next step of a sync off its workers; {@code Syncer} does a
 * step's I/O (fetch, list, dry run, apply, prune) as {@code SyncPlan}, a pure function of the
 * inventory, the commit and the objects as listed, says, and hands back a {@code SyncResult} for
 * the loop to write.
 */
package dev.procurator.controllers.gitops;
