package dev.procurator.controllers.gitops;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.procurator.api.fields.FieldManager;
import dev.procurator.api.runtime.EventSpec;
import dev.procurator.api.runtime.Conditions;
import dev.procurator.api.v1alpha1.GitRepository;
import dev.procurator.api.v1alpha1.GitRepositoryStatus;
import dev.procurator.api.v1alpha1.GitRepositoryStatus.InventoryEntry;
import io.fabric8.kubernetes.api.model.Condition;
import java.time.Duration;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;

/**
 * The GitOps controller's decisions, as pure functions: when a GitRepository syncs, what a sync
 * prunes, what counts as drift, and the status a sync leaves. {@link GitOpsLoop}
 * reads, calls these, and acts.
 */
public final class GitSync {
  private GitSync() {}

  /** The field manager the controller applies as; fields it owns are the ones git sets. */
  public static final String MANAGER = "procurator-gitops";
  public static final String FINALIZER = "procurator.dev/gitops-prune";
  /** Set by the webhook and {@code pctl sync}: a sync is wanted now. */
  public static final String REQUESTED_AT = "procurator.dev/requestedAt";
  /** Labels on every object a GitRepository applied: its name and namespace. */
  public static final String LABEL_NAME = "procurator.dev/gitrepository";
  public static final String LABEL_NAMESPACE = "procurator.dev/gitrepository-namespace";

  public static final String READY = "Ready";
  public static final String RECONCILING = "Reconciling";
  public static final String DRIFTED = "Drifted";

  // ---- when ----

  /** What the reconciler does now. */
  public sealed interface Action {
    record None() implements Action {}

    record AddFinalizer() implements Action {}

    /** Fetch, plan, and dry-run what changed (or check for drift when nothing did). */
    record Sync(String why) implements Action {}

    /** A commit passed its dry run and the status holds both inventories: apply it and prune. */
    record Apply(SyncResult.Validated validated) implements Action {}

    /** The GitRepository is going: prune what it applied (when it prunes), then let it go. */
    record Finalize(boolean prune) implements Action {}
  }

  /**
   * An action, the status to write first (null: leave it), when to look again (null: on the next
   * event), and the Events to record once the status is written.
   */
  public record Decision(Action action, GitRepositoryStatus status, Duration requeueAfter, List<EventSpec> events) {
    public Decision {
      events = events == null ? List.of() : List.copyOf(events);
    }

    Decision(Action action, GitRepositoryStatus status, Duration requeueAfter) {
      this(action, status, requeueAfter, List.of());
    }
  }

  /**
   * @param running a step of a sync of this GitRepository is running
   * @param finished what the last step found or did, not yet written to status (null: nothing)
   */
  public static Decision decide(GitRepository repo, boolean running, SyncResult finished, Instant now) {
    boolean hasFinalizer = repo.getMetadata().getFinalizers() != null && repo.getMetadata().getFinalizers().contains(FINALIZER);
    if (repo.getMetadata().getDeletionTimestamp() != null) {
      if (!hasFinalizer || running) {
        return new Decision(new Action.None(), null, null); // a running sync wakes the loop when it ends
      }
      return new Decision(new Action.Finalize(repo.getSpec().pruning()), null, null);
    }
    if (!hasFinalizer) {
      return new Decision(new Action.AddFinalizer(), null, null);
    }
    GitRepositoryStatus s = repo.getStatus();
    List<EventSpec> events = new ArrayList<>();
    if (finished != null && Objects.equals(finished.generation(), repo.getMetadata().getGeneration())) {
      // a result for an older spec is dropped: the spec changed, and the sync runs again for the new one
      switch (finished) {
        case SyncResult.Validated v -> {
          List<InventoryEntry> before = s == null || s.inventory() == null ? List.of() : s.inventory();
          return new Decision(new Action.Apply(v), applying(repo, v.commit(), v.ref(), union(before, v.plan().inventory()), now), null);
        }
        case SyncResult.Failed f -> {
          GitRepositoryStatus failed = failed(repo, f.commit(), f.reason(), f.message(), f.handled(), now);
          if (!failed.equals(s)) { // said once, not at every interval
            events.add(EventSpec.warning(f.reason(), f.message()));
          }
          s = failed.withLastCompletedSyncTime(now.toString());
        }
        case SyncResult.Applied a -> {
          s = applied(repo, a.commit(), a.ref(), a.inventory(), a.outcome(), a.drifted(), a.correcting(), a.handled(), now)
              .withLastCompletedSyncTime(now.toString());
          events.addAll(a.events());
        }
      }
    }
    Decision next = when(repo, s, running, now);
    GitRepositoryStatus write = next.status() != null ? next.status() : s;
    return new Decision(next.action(), Objects.equals(write, repo.getStatus()) ? null : write, next.requeueAfter(), events);
  }

  /** When the next sync is due, from {@code s}, the status as it is or is about to be written. */
  private static Decision when(GitRepository repo, GitRepositoryStatus s, boolean running, Instant now) {
    if (repo.getSpec().suspended()) {
      List<Condition> conditions = Conditions.set(s == null ? null : s.conditions(), Conditions.of(RECONCILING, Conditions.FALSE,
          "Suspended", "spec.suspend is set: nothing is fetched or applied", now));
      return new Decision(new Action.None(), with(s, repo.getMetadata().getGeneration(), conditions), null);
    }
    if (running) {
      return new Decision(new Action.None(), null, null);
    }
    String requested = annotation(repo, REQUESTED_AT);
    if (requested != null && !requested.equals(s == null ? null : s.lastHandledRequest())) {
      return new Decision(new Action.Sync("requested at " + requested), null, null);
    }
    if (s == null || !Objects.equals(s.observedGeneration(), repo.getMetadata().getGeneration())) {
      return new Decision(new Action.Sync("the spec changed"), null, null);
    }
    Condition reconciling = Conditions.find(s.conditions(), RECONCILING).orElse(null);
    if (reconciling != null && Conditions.TRUE.equals(reconciling.getStatus())) {
      return new Decision(new Action.Sync("a sync was interrupted"), null, null); // its controller stopped mid-apply
    }
    Instant last = lastCompleted(s);
    if (last == null) {
      return new Decision(new Action.Sync("never synced to the end"), null, null);
    }
    Duration interval = Duration.ofSeconds(repo.getSpec().interval());
    Duration since = Duration.between(last, now);
    if (since.isNegative()) {
      since = Duration.ZERO; // written by a replica whose clock is ahead: wait one interval from now, no longer
    }
    if (since.compareTo(interval) >= 0) {
      return new Decision(new Action.Sync("interval"), null, null);
    }
    return new Decision(new Action.None(), null, interval.minus(since));
  }

  /** {@code status.lastCompletedSyncTime}, or null when there is none or it cannot be read. */
  static Instant lastCompleted(GitRepositoryStatus s) {
    try {
      return s.lastCompletedSyncTime() == null ? null : Instant.parse(s.lastCompletedSyncTime());
    } catch (DateTimeParseException e) {
      return null;
    }
  }

  private static String annotation(GitRepository repo, String key) {
    Map<String, String> a = repo.getMetadata().getAnnotations();
    return a == null ? null : a.get(key);
  }

  private static GitRepositoryStatus with(GitRepositoryStatus s, Long generation, List<Condition> conditions) {
    return s == null ? new GitRepositoryStatus(generation, null, null, null, conditions, null, null, null)
        : new GitRepositoryStatus(generation, s.lastAppliedCommit(), s.lastAttemptedCommit(), s.inventory(), conditions, s.lastSync(),
            s.lastHandledRequest(), s.lastCompletedSyncTime());
  }

  // ---- what ----

  /** The inventory entry of an object: group, kind, namespace and name, never the version. */
  public static InventoryEntry entry(String apiVersion, String kind, String namespace, String name) {
    String group = apiVersion.contains("/") ? apiVersion.substring(0, apiVersion.indexOf('/')) : "";
    return new InventoryEntry(group, kind, namespace, name);
  }

  /** What the last inventory holds and the new one does not: the objects to prune, in reverse order of application. */
  public static List<InventoryEntry> prunable(List<InventoryEntry> before, List<InventoryEntry> after) {
    Set<InventoryEntry> keep = new LinkedHashSet<>(after == null ? List.of() : after);
    List<InventoryEntry> out = new ArrayList<>();
    for (InventoryEntry e : before == null ? List.<InventoryEntry>of() : before) {
      if (!keep.contains(e) && !out.contains(e)) {
        out.add(e);
      }
    }
    java.util.Collections.reverse(out);
    return out;
  }

  /** The union of two inventories, first one's order first: what a sync in progress may have to prune later. */
  public static List<InventoryEntry> union(List<InventoryEntry> a, List<InventoryEntry> b) {
    Set<InventoryEntry> all = new LinkedHashSet<>(a == null ? List.of() : a);
    all.addAll(b);
    return List.copyOf(all);
  }

  /** Whether {@code live} carries the labels of the GitRepository {@code namespace/name}. */
  public static boolean ownedBy(JsonNode live, String namespace, String name) {
    JsonNode labels = live.path("metadata").path("labels");
    return name.equals(labels.path(LABEL_NAME).asText(null)) && namespace.equals(labels.path(LABEL_NAMESPACE).asText(null));
  }

  /**
   * The fields git sets that {@code live} no longer has as git set them: fields another manager
   * has taken (a {@code kubectl edit}, a patch) and set to another value, or the whole object when
   * it is gone. Fields git
   * does not set (server defaults, status, what other controllers write) are never drift.
   *
   * @param config the object as the controller applies it (git's manifest with its labels)
   * @param live the object as the server has it, or null
   */
  public static List<String> drift(ObjectNode config, JsonNode live) {
    if (live == null) {
      return List.of("(deleted)");
    }
    Set<FieldManager.Path> mine = Set.of();
    for (FieldManager.Entry e : FieldManager.entries(live)) {
      if (e.manager().equals(MANAGER) && e.operation().equals(FieldManager.APPLY)) {
        mine = e.fields();
      }
    }
    List<String> out = new ArrayList<>();
    for (FieldManager.Path p : FieldManager.fieldsOf(config)) {
      // a field another manager wrote is drift only when it no longer holds git's value
      if (!mine.contains(p) && !FieldManager.same(FieldManager.valueAt(config, p), FieldManager.valueAt(live, p))) {
        out.add(p.toString());
      }
    }
    return out;
  }

  // ---- status ----

  /** The counts and changes of one sync. */
  public record Outcome(String commit, int created, int updated, int unchanged, int pruned, List<String> changes) {}

  /** The status after a commit was applied whole. */
  public static GitRepositoryStatus applied(GitRepository repo, String commit, String ref, List<InventoryEntry> inventory,
      Outcome outcome, List<String> drifted, boolean correcting, String handled, Instant now) {
    GitRepositoryStatus s = repo.getStatus();
    Long gen = repo.getMetadata().getGeneration();
    List<Condition> c = s == null ? null : s.conditions();
    c = Conditions.set(c, Conditions.of(READY, Conditions.TRUE, "Succeeded",
        "applied " + ref + "@sha1:" + commit + " (" + inventory.size() + " objects)", now));
    c = Conditions.set(c, Conditions.of(RECONCILING, Conditions.FALSE, "Succeeded", "in step with " + ref + "@sha1:" + commit, now));
    c = Conditions.set(c, driftCondition(drifted, correcting, now));
    List<String> changes = outcome.changes().size() > MAX_CHANGES
        ? List.copyOf(concat(outcome.changes().subList(0, MAX_CHANGES), "... and " + (outcome.changes().size() - MAX_CHANGES) + " more"))
        : outcome.changes();
    GitRepositoryStatus.SyncResult result = new GitRepositoryStatus.SyncResult(commit, now.toString(), outcome.created(), outcome.updated(),
        outcome.unchanged(), outcome.pruned(), changes);
    boolean sameSync = s != null && s.lastSync() != null && outcome.created() + outcome.updated() + outcome.pruned() == 0
        && commit.equals(s.lastSync().commit()) && commit.equals(s.lastAppliedCommit());
    return new GitRepositoryStatus(gen, commit, commit, inventory, c, sameSync ? s.lastSync() : result, handled,
        s == null ? null : s.lastCompletedSyncTime());
  }

  private static final int MAX_CHANGES = 200;

  private static List<String> concat(List<String> a, String b) {
    List<String> out = new ArrayList<>(a);
    out.add(b);
    return out;
  }

  /** The status after a commit that could not be applied: the last good commit stays in force. */
  public static GitRepositoryStatus failed(GitRepository repo, String attempted, String reason, String message, String handled,
      Instant now) {
    GitRepositoryStatus s = repo.getStatus();
    Long gen = repo.getMetadata().getGeneration();
    List<Condition> c = s == null ? null : s.conditions();
    String kept = s != null && s.lastAppliedCommit() != null ? "; " + s.lastAppliedCommit().substring(0, 12) + " stays applied" : "";
    c = Conditions.set(c, Conditions.of(READY, Conditions.FALSE, reason, truncate(message) + kept, now));
    c = Conditions.set(c, Conditions.of(RECONCILING, Conditions.FALSE, reason, "stopped: " + reason, now));
    return new GitRepositoryStatus(gen, s == null ? null : s.lastAppliedCommit(), attempted != null ? attempted : s == null ? null
        : s.lastAttemptedCommit(), s == null ? null : s.inventory(), c, s == null ? null : s.lastSync(), handled,
        s == null ? null : s.lastCompletedSyncTime());
  }

  /** The status while a commit is being applied: the inventory holds both commits' objects until pruning ends. */
  public static GitRepositoryStatus applying(GitRepository repo, String commit, String ref, List<InventoryEntry> pending, Instant now) {
    GitRepositoryStatus s = repo.getStatus();
    Long gen = repo.getMetadata().getGeneration();
    List<Condition> c = Conditions.set(s == null ? null : s.conditions(), Conditions.of(RECONCILING, Conditions.TRUE, "Progressing",
        "applying " + ref + "@sha1:" + commit, now));
    return new GitRepositoryStatus(s == null ? null : s.observedGeneration(), s == null ? null : s.lastAppliedCommit(), commit, pending, c,
        s == null ? null : s.lastSync(), s == null ? null : s.lastHandledRequest(), s == null ? null : s.lastCompletedSyncTime());
  }

  static Condition driftCondition(List<String> drifted, boolean correcting, Instant now) {
    if (drifted.isEmpty()) {
      return Conditions.of(DRIFTED, Conditions.FALSE, "InSync", "every field git sets is as git sets it", now);
    }
    String list = String.join("; ", drifted.size() > 20 ? drifted.subList(0, 20) : drifted)
        + (drifted.size() > 20 ? "; ... and " + (drifted.size() - 20) + " more" : "");
    return correcting
        ? Conditions.of(DRIFTED, Conditions.FALSE, "Corrected", "put back what git sets: " + list, now)
        : Conditions.of(DRIFTED, Conditions.TRUE, "DriftDetected", "changed outside git (driftPolicy Detect leaves them): " + list, now);
  }

  private static String truncate(String m) {
    return m.length() > 4000 ? m.substring(0, 3997) + "..." : m;
  }
}
