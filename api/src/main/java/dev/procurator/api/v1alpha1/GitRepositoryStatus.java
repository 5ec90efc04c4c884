package dev.procurator.api.v1alpha1;

import com.fasterxml.jackson.annotation.JsonInclude;
import io.fabric8.kubernetes.api.model.Condition;
import java.util.List;

/**
 * What the sync last did.
 *
 * @param lastAppliedCommit the full SHA of the last commit applied whole; what is in force
 * @param lastAttemptedCommit the last commit a sync tried, applied or not
 * @param inventory what the GitRepository applied and owns: pruned when a commit drops it
 * @param conditions {@code Ready} (the last commit is applied, or why not), {@code Reconciling} (a sync is under way),
 *     {@code Drifted} (fields git sets that someone changed)
 * @param lastSync what the last sync changed
 * @param lastHandledRequest the {@code procurator.dev/requestedAt} annotation the last sync answered (webhook, {@code pctl sync})
 * @param lastCompletedSyncTime when the last sync ended (RFC 3339), whether it changed anything, found nothing to change or
 *     failed: the interval counts from it, also for a controller that has just started or taken the lead
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record GitRepositoryStatus(
    Long observedGeneration,
    String lastAppliedCommit,
    String lastAttemptedCommit,
    List<InventoryEntry> inventory,
    List<Condition> conditions,
    SyncResult lastSync,
    String lastHandledRequest,
    String lastCompletedSyncTime) {

  /** This status with {@code conditions} in place of its own. */
  public GitRepositoryStatus withConditions(List<Condition> conditions) {
    return new GitRepositoryStatus(observedGeneration, lastAppliedCommit, lastAttemptedCommit, inventory, conditions, lastSync,
        lastHandledRequest, lastCompletedSyncTime);
  }

  /** This status with {@code time} as the end of the last sync. */
  public GitRepositoryStatus withLastCompletedSyncTime(String time) {
    return new GitRepositoryStatus(observedGeneration, lastAppliedCommit, lastAttemptedCommit, inventory, conditions, lastSync,
        lastHandledRequest, time);
  }

  /** An object by identity; the version is left out, so that an apiVersion change leaves no orphan. */
  @JsonInclude(JsonInclude.Include.NON_NULL)
  public record InventoryEntry(String group, String kind, String namespace, String name) {
    @Override
    public String toString() {
      return (group == null || group.isEmpty() ? kind : kind + "." + group) + "/" + (namespace == null ? "" : namespace + "/") + name;
    }
  }

  /**
   * Counts of one sync, and its changes as {@code pctl sync} prints them ({@code vm/web configured}).
   */
  @JsonInclude(JsonInclude.Include.NON_NULL)
  public record SyncResult(String commit, String time, Integer created, Integer updated, Integer unchanged, Integer pruned,
      List<String> changes) {}
}
