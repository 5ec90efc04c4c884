package dev.procurator.controllers.gitops;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.procurator.api.fields.FieldManager;
import dev.procurator.api.runtime.Conditions;
import dev.procurator.api.v1alpha1.GitRepository;
import dev.procurator.api.v1alpha1.GitRepositorySpec;
import dev.procurator.api.v1alpha1.GitRepositoryStatus;
import dev.procurator.api.v1alpha1.GitRepositoryStatus.InventoryEntry;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.api.Test;

class GitSyncTest {
  private static final Instant NOW = Instant.parse("2026-12-03T08:00:00Z");
  private static final ObjectMapper JSON = new ObjectMapper();

  private static GitRepository repo(boolean finalizer, boolean deleting, Boolean suspend, Long observed, Long generation,
      String requested, String handled) {
    GitRepository r = new GitRepository();
    var meta = new ObjectMetaBuilder().withName("fleet").withNamespace("default").withGeneration(generation);
    if (finalizer) {
      meta.withFinalizers(GitSync.FINALIZER);
    }
    if (deleting) {
      meta.withDeletionTimestamp("2026-12-03T07:59:00Z");
    }
    if (requested != null) {
      meta.withAnnotations(Map.of(GitSync.REQUESTED_AT, requested));
    }
    r.setMetadata(meta.build());
    r.setSpec(new GitRepositorySpec("file:///r.git", "main", ".", 60, true).withSuspend(suspend));
    if (observed != null) {
      r.setStatus(new GitRepositoryStatus(observed, "abc", "abc", List.of(), List.of(), null, handled, null));
    }
    return r;
  }

  static Stream<Arguments> decisions() {
    Instant recent = NOW.minusSeconds(10);
    Instant old = NOW.minusSeconds(61);
    return Stream.of(
        Arguments.of("a new GitRepository gets its finalizer first", repo(false, false, null, null, 1L, null, null), false, null,
            GitSync.Action.AddFinalizer.class, null),
        Arguments.of("never synced: the spec is new", repo(true, false, null, null, 1L, null, null), false, null, GitSync.Action.Sync.class, null),
        Arguments.of("a changed spec syncs at once", repo(true, false, null, 1L, 2L, null, null), false, recent, GitSync.Action.Sync.class, null),
        Arguments.of("a request syncs at once", repo(true, false, null, 1L, 1L, "t1", null), false, recent, GitSync.Action.Sync.class, null),
        Arguments.of("an answered request waits for the interval", repo(true, false, null, 1L, 1L, "t1", "t1"), false, recent,
            GitSync.Action.None.class, Duration.ofSeconds(50)),
        Arguments.of("the interval passed", repo(true, false, null, 1L, 1L, null, null), false, old, GitSync.Action.Sync.class, null),
        Arguments.of("never synced to the end", repo(true, false, null, 1L, 1L, null, null), false, null,
            GitSync.Action.Sync.class, null),
        Arguments.of("one sync at a time", repo(true, false, null, 1L, 2L, "t2", null), true, old, GitSync.Action.None.class, null),
        Arguments.of("suspended: nothing runs", repo(true, false, true, 1L, 1L, "t3", null), false, old, GitSync.Action.None.class, null),
        Arguments.of("deleted: prune and release", repo(true, true, null, 1L, 1L, null, null), false, recent, GitSync.Action.Finalize.class,
            null),
        Arguments.of("deleted during a sync: wait for it", repo(true, true, null, 1L, 1L, null, null), true, recent, GitSync.Action.None.class,
            null),
        Arguments.of("deleted, already released", repo(false, true, null, 1L, 1L, null, null), false, recent, GitSync.Action.None.class, null));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("decisions")
  void decides(String name, GitRepository repo, boolean inFlight, Instant lastSync, Class<?> action, Duration requeue) {
    if (lastSync != null && repo.getStatus() != null) {
      repo.setStatus(repo.getStatus().withLastCompletedSyncTime(lastSync.toString()));
    }
    GitSync.Decision d = GitSync.decide(repo, inFlight, null, NOW);
    assertThat(d.action()).isInstanceOf(action);
    assertThat(d.requeueAfter()).isEqualTo(requeue);
  }

  @Test
  void suspendingSaysSoInReconciling() {
    GitSync.Decision d = GitSync.decide(repo(true, false, true, 1L, 1L, null, null), false, null, NOW);
    assertThat(Conditions.reason(d.status().conditions(), GitSync.RECONCILING)).isEqualTo("Suspended");
  }

  private static final String SHA = "0123456789abcdef0123456789abcdef01234567";
  private static final InventoryEntry A = GitSync.entry("procurator.dev/v1alpha1", "VM", "default", "a");
  private static final InventoryEntry B = GitSync.entry("procurator.dev/v1alpha1", "VM", "default", "b");

  @Test
  void afterARestartTheIntervalCountsFromTheLastSyncInStatus() {
    // a controller that has just started or taken the lead has no memory of its own: status says when the last sync ended
    GitRepository r = repo(true, false, null, 1L, 1L, null, null);
    r.setStatus(r.getStatus().withLastCompletedSyncTime("2026-12-03T07:59:50.250Z"));
    GitSync.Decision d = GitSync.decide(r, false, null, NOW);
    assertThat(d.action()).isInstanceOf(GitSync.Action.None.class);
    assertThat(d.requeueAfter()).isEqualTo(Duration.ofMillis(50_250));
    assertThat(d.status()).as("nothing to write").isNull();

    r.setStatus(r.getStatus().withLastCompletedSyncTime(NOW.plusSeconds(600).toString()));
    assertThat(GitSync.decide(r, false, null, NOW).requeueAfter()).as("written by a replica whose clock is ahead")
        .isEqualTo(Duration.ofSeconds(60));
  }

  @Test
  void aSyncInterruptedMidApplyResumesAtOnce() {
    GitRepository r = repo(true, false, null, 1L, 1L, null, null);
    r.setStatus(r.getStatus().withLastCompletedSyncTime(NOW.minusSeconds(5).toString()).withConditions(List.of(
        Conditions.of(GitSync.RECONCILING, Conditions.TRUE, "Progressing", "applying main@sha1:" + SHA, NOW.minusSeconds(3)))));
    assertThat(GitSync.decide(r, false, null, NOW).action()).isEqualTo(new GitSync.Action.Sync("a sync was interrupted"));
    assertThat(GitSync.decide(r, true, null, NOW).action()).as("while it runs here").isInstanceOf(GitSync.Action.None.class);
  }

  @Test
  void aValidatedCommitIsAppliedAfterTheStatusHoldsBothInventories() {
    GitRepository r = repo(true, false, null, 1L, 1L, null, null);
    r.setStatus(new GitRepositoryStatus(1L, "abc", "abc", List.of(A), List.of(), null, null, NOW.minusSeconds(30).toString()));
    SyncPlan plan = new SyncPlan(SyncPlan.Mode.APPLY, List.of(SyncPlanTest.desired(B)), List.of(), List.of(), List.of(), List.of(), List.of());
    var validated = new SyncResult.Validated(1L, null, SHA, "main", plan, List.of());
    GitSync.Decision d = GitSync.decide(r, false, validated, NOW);
    assertThat(d.action()).isEqualTo(new GitSync.Action.Apply(validated));
    assertThat(d.status().inventory()).containsExactly(A, B);
    assertThat(d.status().lastAttemptedCommit()).isEqualTo(SHA);
    assertThat(d.status().lastAppliedCommit()).isEqualTo("abc");
    assertThat(Conditions.reason(d.status().conditions(), GitSync.RECONCILING)).isEqualTo("Progressing");
    assertThat(d.status().lastCompletedSyncTime()).as("not ended yet").isEqualTo(NOW.minusSeconds(30).toString());
  }

  @Test
  void anAppliedResultIsWrittenOnceWithItsTimeAndEvents() {
    GitRepository r = repo(true, false, null, 1L, 1L, null, null);
    var events = List.of(dev.procurator.api.runtime.EventSpec.normal("Synced", "applied"));
    var applied = new SyncResult.Applied(1L, null, SHA, "main", List.of(A, B), new GitSync.Outcome(SHA, 1, 0, 1, 0, List.of("vm/b created")),
        List.of(), true, events);
    GitSync.Decision d = GitSync.decide(r, false, applied, NOW);
    assertThat(d.status().lastAppliedCommit()).isEqualTo(SHA);
    assertThat(d.status().inventory()).containsExactly(A, B);
    assertThat(d.status().lastCompletedSyncTime()).isEqualTo(NOW.toString());
    assertThat(d.status().lastSync().changes()).containsExactly("vm/b created");
    assertThat(d.events()).isEqualTo(events);
    assertThat(d.action()).isInstanceOf(GitSync.Action.None.class);
    assertThat(d.requeueAfter()).isEqualTo(Duration.ofSeconds(60));
  }

  @Test
  void aRequestThatCameDuringASyncStartsTheNextOneAsSoonAsItsResultIsWritten() {
    GitRepository r = repo(true, false, null, 1L, 1L, "t2", "t1");
    var applied = new SyncResult.Applied(1L, "t1", SHA, "main", List.of(A), new GitSync.Outcome(SHA, 0, 0, 1, 0, List.of()), List.of(),
        true, List.of());
    GitSync.Decision d = GitSync.decide(r, false, applied, NOW);
    assertThat(d.status().lastHandledRequest()).isEqualTo("t1");
    assertThat(d.action()).isEqualTo(new GitSync.Action.Sync("requested at t2"));
  }

  @Test
  void aFailureIsSaidOnceAndItsTimeKept() {
    GitRepository r = repo(true, false, null, 1L, 1L, null, null);
    r.setStatus(new GitRepositoryStatus(1L, SHA, SHA, List.of(), List.of(), null, null, null));
    var failed = new SyncResult.Failed(1L, null, null, "URLRefused", "file:// URLs are refused");
    GitSync.Decision first = GitSync.decide(r, false, failed, NOW);
    assertThat(Conditions.reason(first.status().conditions(), GitSync.READY)).isEqualTo("URLRefused");
    assertThat(first.status().lastCompletedSyncTime()).isEqualTo(NOW.toString());
    assertThat(first.events()).extracting(dev.procurator.api.runtime.EventSpec::reason).containsExactly("URLRefused");
    r.setStatus(first.status());
    GitSync.Decision again = GitSync.decide(r, false, failed, NOW.plusSeconds(60));
    assertThat(again.events()).as("the same failure an interval later").isEmpty();
    assertThat(again.status().lastCompletedSyncTime()).isEqualTo(NOW.plusSeconds(60).toString());
  }

  @Test
  void aResultForAnOlderSpecIsDroppedAndTheSyncRunsAgain() {
    GitRepository r = repo(true, false, null, 1L, 2L, null, null);
    var applied = new SyncResult.Applied(1L, null, SHA, "main", List.of(A), new GitSync.Outcome(SHA, 1, 0, 0, 0, List.of()), List.of(),
        true, List.of());
    GitSync.Decision d = GitSync.decide(r, false, applied, NOW);
    assertThat(d.status()).isNull();
    assertThat(d.action()).isEqualTo(new GitSync.Action.Sync("the spec changed"));
  }

  @Test
  void pruningTakesWhatTheNewInventoryLacksIgnoringTheVersion() {
    var a = GitSync.entry("procurator.dev/v1alpha1", "VM", "default", "a");
    var b = GitSync.entry("procurator.dev/v1alpha1", "VM", "default", "b");
    var bNewVersion = GitSync.entry("procurator.dev/v1beta1", "VM", "default", "b");
    assertThat(GitSync.prunable(List.of(a, b), List.of(bNewVersion))).containsExactly(a);
    assertThat(GitSync.prunable(List.of(a, b), List.of())).containsExactly(b, a);
    assertThat(GitSync.union(List.of(a), List.of(a, b))).containsExactly(a, b);
    assertThat(new InventoryEntry("procurator.dev", "VM", "default", "a").toString()).isEqualTo("VM.procurator.dev/default/a");
  }

  private static ObjectNode json(String s) throws Exception {
    return (ObjectNode) JSON.readTree(s.replace('\'', '"'));
  }

  @Test
  void driftIsAFieldGitSetsThatAnotherManagerTookNeverADefault() throws Exception {
    ObjectNode config = json("{'apiVersion':'v1','kind':'VM','metadata':{'name':'a','labels':{'x':'1'}},'spec':{'cpu':1}}");
    ObjectNode live = FieldManager.apply(null, config, GitSync.MANAGER, false, "t").object();
    ((ObjectNode) live.get("spec")).put("restartPolicy", "Always"); // a server default
    ((ObjectNode) live.get("spec")).put("nodeName", "n1"); // written by the scheduler
    assertThat(GitSync.drift(config, live)).isEmpty();

    ObjectNode edited = live.deepCopy();
    ((ObjectNode) edited.get("spec")).put("cpu", 4);
    ((ObjectNode) edited.get("metadata")).set("managedFields", FieldManager.update(live, edited, "kubectl-edit", true, "t2", "v1"));
    assertThat(GitSync.drift(config, edited)).containsExactly(".spec.cpu");
    assertThat(GitSync.drift(config, null)).containsExactly("(deleted)");
  }

  @Test
  void aFailedCommitKeepsTheLastGoodOneInForce() {
    GitRepository r = repo(true, false, null, 1L, 1L, null, null);
    r.setStatus(new GitRepositoryStatus(1L, "0123456789abcdef0123456789abcdef01234567", null, List.of(), List.of(), null, null, null));
    GitRepositoryStatus s = GitSync.failed(r, "ffff", "ValidationFailed", "a.yaml, document 1: bad", null, NOW);
    assertThat(s.lastAppliedCommit()).isEqualTo("0123456789abcdef0123456789abcdef01234567");
    assertThat(s.lastAttemptedCommit()).isEqualTo("ffff");
    assertThat(Conditions.find(s.conditions(), GitSync.READY).orElseThrow().getMessage())
        .contains("a.yaml, document 1: bad").contains("0123456789ab stays applied");
  }

  @Test
  void manifestsAreReadInFileOrderWithTheirErrorsPlaced() {
    var files = List.of(
        new GitSource.File("a.yaml", "apiVersion: v1\nkind: VM\nmetadata: {name: x}\n---\n---\napiVersion: v1\nkind: VM\nmetadata: {name: y}\n"
            .getBytes(StandardCharsets.UTF_8)),
        new GitSource.File("b.json", "{\"apiVersion\":\"v1\",\"kind\":\"VM\",\"metadata\":{\"name\":\"x\"}}".getBytes(StandardCharsets.UTF_8)),
        new GitSource.File("c.yaml", "kind: VM\nmetadata: {name: z}\n".getBytes(StandardCharsets.UTF_8)),
        new GitSource.File("d.yml", "a: [1\n".getBytes(StandardCharsets.UTF_8)));
    Manifests.Parsed p = Manifests.parse(files);
    assertThat(p.manifests()).extracting(Manifests.Manifest::where).containsExactly("a.yaml, document 1", "a.yaml, document 3");
    assertThat(p.errors()).hasSize(3);
    assertThat(p.errors().get(0)).startsWith("b.json, document 1").contains("also defined in a.yaml, document 1");
    assertThat(p.errors().get(1)).startsWith("c.yaml, document 1").contains("apiVersion is not set");
    assertThat(p.errors().get(2)).startsWith("d.yml, document 1").contains("invalid YAML at line");
  }
}
