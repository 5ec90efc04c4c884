package dev.procurator.controllers.gitops;

import dev.procurator.api.runtime.EventSpec;
import dev.procurator.api.v1alpha1.GitRepositoryStatus.InventoryEntry;
import java.util.List;

/**
 * What one step of a sync found or did, handed from the thread that ran it ({@link Syncer}) to the
 * loop ({@link GitOpsLoop}), which writes the status from it ({@link GitSync#decide}).
 * Each carries the generation of the spec it ran for and the {@code procurator.dev/requestedAt}
 * it answers; a result for an older generation is dropped and the sync runs again.
 */
sealed interface SyncResult {
  Long generation();

  String handled();

  /** The sync stopped: nothing of {@code commit} (null when none was fetched) is applied; the last good commit stays in force. */
  record Failed(Long generation, String handled, String commit, String reason, String message) implements SyncResult {}

  /**
   * A commit not yet in force passed its dry run whole: the loop writes the status that holds both
   * inventories, then has {@link Syncer#apply} carry out {@code plan}.
   *
   * @param dryRun the server's answers to the dry run, one per {@link SyncPlan#apply} entry
   */
  record Validated(Long generation, String handled, String commit, String ref, SyncPlan plan, List<ServerSideApply.Attempt> dryRun)
      implements SyncResult {}

  /**
   * The commit is in force: applied, pruned, or checked for drift (and corrected under {@code Correct}).
   *
   * @param events what to record once the status is written
   */
  record Applied(Long generation, String handled, String commit, String ref, List<InventoryEntry> inventory, GitSync.Outcome outcome,
      List<String> drifted, boolean correcting, List<EventSpec> events) implements SyncResult {}
}
