package dev.procurator.nodeagent.build;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.procurator.api.runtime.Conditions;
import dev.procurator.api.runtime.Decision;
import dev.procurator.api.runtime.EventSpec;
import dev.procurator.api.v1alpha1.Build;
import dev.procurator.api.v1alpha1.BuildAgreements;
import dev.procurator.api.v1alpha1.BuildPhase;
import dev.procurator.api.v1alpha1.BuildSpec;
import dev.procurator.api.v1alpha1.BuildStatus;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** The builder's whole decision for one Build, row by row: the Build, the attempt running here, and what must happen. */
class BuildStepTest {
  static final Instant NOW = Instant.parse("2026-12-03T10:00:00Z");
  static final String ME = "node-a";

  static Build build(BuildStatus s) {
    Build b = new Build();
    b.setMetadata(new ObjectMetaBuilder().withName("b").withNamespace("default").build());
    b.setSpec(new BuildSpec("path:/src", List.of("web")).withLimits(null, 1));
    b.setStatus(s);
    return b;
  }

  static BuildStatus placed(String node, BuildPhase phase, int attempt) {
    BuildStatus s = BuildStatus.pending().withPhase(phase, "").withNode(node);
    return new BuildStatus(s.phase(), null, s.nodeName(), attempt, null, null, null, null, null, null, null, null, null, null, null);
  }

  static BuildRun.Progress running(BuildPhase phase) {
    return new BuildRun.Progress(phase, phase.wire() + " web", Map.of("web", "/nix/store/x-web"), List.of(), null, false);
  }

  static BuildRun.Progress failed(String reason, boolean retryable) {
    return new BuildRun.Progress(BuildPhase.BUILDING, "building web failed",
        Map.of(), List.of(), new BuildRun.Failure(reason, "building web failed: exit 3", "web", "about to fail", retryable), true);
  }

  static final BuildStep.Action START = new BuildStep.Action.Start(null);
  static final BuildStep.Action STOP = new BuildStep.Action.Stop();
  static final BuildStep.Action FORGET = new BuildStep.Action.Forget();

  /** One row: a Build and the attempt running here; the action on it, the phase written (null: none), the Event. */
  record Row(String name, Build build, Integer runAttempt, BuildRun.Progress run, boolean freeSlot, BuildStep.Action action,
      BuildPhase written, String event) {
    @Override
    public String toString() {
      return name;
    }
  }

  static Row row(String name, Build build, Integer runAttempt, BuildRun.Progress run, BuildStep.Action action, BuildPhase written,
      String event) {
    return new Row(name, build, runAttempt, run, true, action, written, event);
  }

  static Stream<Arguments> rows() {
    BuildRun.Progress succeeded = new BuildRun.Progress(BuildPhase.SUCCEEDED, "built web", Map.of("web", "/nix/store/x-web"), List.of(),
        null, true);
    Build deleted = build(placed(ME, BuildPhase.BUILDING, 1));
    deleted.getMetadata().setDeletionTimestamp("2026-12-03T09:59:00Z");
    return Stream.of(
        row("a Build placed here starts", build(placed(ME, BuildPhase.SCHEDULED, 1)), null, null, START, BuildPhase.EVALUATING, null),
        new Row("a Build placed here waits for a free slot", build(placed(ME, BuildPhase.SCHEDULED, 1)), null, null, false, null, null,
            null),
        row("a Build that was running here before a restart starts over", build(placed(ME, BuildPhase.BUILDING, 2)), null, null, START,
            BuildPhase.EVALUATING, null),
        row("a Build placed elsewhere is not started here", build(placed("node-b", BuildPhase.SCHEDULED, 1)), null, null, null, null,
            null),
        row("a running attempt reports its step", build(placed(ME, BuildPhase.EVALUATING, 1)), 1, running(BuildPhase.BUILDING), null,
            BuildPhase.BUILDING, null),
        row("a success is written, told, then the attempt forgotten", build(placed(ME, BuildPhase.PUSHING, 1)), 1, succeeded, FORGET,
            BuildPhase.SUCCEEDED, "Succeeded"),
        row("a retryable failure goes back to the queue", build(placed(ME, BuildPhase.BUILDING, 1)), 1, failed("BuildFailed", true), FORGET,
            BuildPhase.PENDING, "Retrying"),
        row("a failure with no attempts left fails the Build", build(placed(ME, BuildPhase.BUILDING, 2)), 2, failed("BuildFailed", true),
            FORGET, BuildPhase.FAILED, "Failed"),
        row("a deleted Build's attempt is stopped", deleted, 1, running(BuildPhase.BUILDING), STOP, null, null),
        row("a Build gone from this node has its attempt stopped", null, 1, running(BuildPhase.BUILDING), STOP, null, null),
        row("a Build back in the queue has its attempt stopped", build(BuildStatus.pending()), 1, running(BuildPhase.BUILDING), STOP, null,
            null),
        row("a Build on another attempt has this one stopped", build(placed(ME, BuildPhase.SCHEDULED, 2)), 1, running(BuildPhase.BUILDING),
            STOP, null, null),
        row("an attempt that ended after its Build moved on is forgotten", build(BuildStatus.pending()), 1, succeeded, FORGET, null, null))
        .map(Arguments::of);
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("rows")
  void decides(Row row) {
    Decision<BuildStatus, BuildStep.Action> d = BuildStep.decide(row.build(), ME, row.runAttempt(), row.run(), row.freeSlot(), NOW);
    assertThat(d.actions()).as("action").hasSize(row.action() == null ? 0 : 1);
    BuildStatus written = d.status();
    if (row.action() != null) {
      BuildStep.Action a = d.actions().getFirst();
      assertThat(a.getClass()).as("action").isEqualTo(row.action().getClass());
      if (a instanceof BuildStep.Action.Start start) {
        assertThat(written).as("the start writes its own status").isNull();
        written = start.evaluating();
      }
    }
    assertThat(written == null ? null : written.phase()).as("phase written").isEqualTo(row.written());
    assertThat(d.events().stream().map(EventSpec::reason).toList()).as("events")
        .isEqualTo(row.event() == null ? List.of() : List.of(row.event()));
    assertThat(d.requeueAfter()).as("requeue").isEqualTo(row.freeSlot() ? null : BuildStep.SLOT_WAIT);
  }

  @Test
  void aStartSaysEvaluatingFromNow() {
    var d = BuildStep.decide(build(placed(ME, BuildPhase.SCHEDULED, 1)), ME, null, null, true, NOW);
    BuildStatus s = ((BuildStep.Action.Start) d.actions().getFirst()).evaluating();
    assertThat(s.startTime()).isEqualTo("2026-12-03T10:00:00Z");
    assertThat(Conditions.reason(s.conditions(), BuildAgreements.READY)).isEqualTo("Evaluating");
  }

  @Test
  void aRunningAttemptReportsItsStep() {
    var d = BuildStep.decide(build(placed(ME, BuildPhase.EVALUATING, 1)), ME, 1, running(BuildPhase.BUILDING), true, NOW);
    assertThat(d.actions()).isEmpty();
    assertThat(d.status().phase()).isEqualTo(BuildPhase.BUILDING);
    assertThat(Conditions.reason(d.status().conditions(), BuildAgreements.READY)).isEqualTo("Building");
    assertThat(d.status().outputs()).containsEntry("web", "/nix/store/x-web");
  }

  @Test
  void aSuccessIsWrittenThenTheAttemptForgotten() {
    var done = new BuildRun.Progress(BuildPhase.SUCCEEDED, "built web", Map.of("web", "/nix/store/x-web"), List.of(), null, true);
    var d = BuildStep.decide(build(placed(ME, BuildPhase.PUSHING, 1)), ME, 1, done, true, NOW);
    assertThat(d.actions()).containsExactly(FORGET);
    assertThat(d.status().phase()).isEqualTo(BuildPhase.SUCCEEDED);
    assertThat(d.status().completionTime()).isNotNull();
    assertThat(Conditions.isTrue(d.status().conditions(), BuildAgreements.READY)).isTrue();
    assertThat(d.events()).containsExactly(EventSpec.normal("Succeeded", "built web"));
  }

  @Test
  void aRetryableFailureGoesBackToTheQueueWithBackoffWhileAttemptsAreLeft() {
    var d = BuildStep.decide(build(placed(ME, BuildPhase.BUILDING, 1)), ME, 1, failed("BuildFailed", true), true, NOW);
    assertThat(d.status().phase()).isEqualTo(BuildPhase.PENDING);
    assertThat(d.status().nodeName()).isNull();
    assertThat(d.status().attemptNumber()).isEqualTo(2);
    assertThat(d.status().notBefore()).isEqualTo("2026-12-03T10:00:05Z");
    assertThat(d.status().failedAttribute()).isEqualTo("web");
    assertThat(d.events()).singleElement().satisfies(e -> {
      assertThat(e.type()).isEqualTo("Warning");
      assertThat(e.note()).isEqualTo(d.status().message());
    });
    // the last attempt: failed for good, with the tail of the log
    var last = BuildStep.decide(build(placed(ME, BuildPhase.BUILDING, 2)), ME, 2, failed("BuildFailed", true), true, NOW);
    assertThat(last.status().phase()).isEqualTo(BuildPhase.FAILED);
    assertThat(last.status().logTail()).isEqualTo("about to fail");
  }

  @Test
  void anEvaluationErrorFailsAtOnce() {
    var d = BuildStep.decide(build(placed(ME, BuildPhase.EVALUATING, 1)), ME, 1, failed("EvaluationFailed", false), true, NOW);
    assertThat(d.status().phase()).isEqualTo(BuildPhase.FAILED);
    assertThat(d.status().attemptNumber()).isEqualTo(1);
  }

  @Test
  void aSourceBecomesALockedFlakeReference() {
    String sha = "0123456789abcdef0123456789abcdef01234567";
    assertThat(Builder.flakeRef("file:///srv/web.git", "main", sha, null)).isEqualTo("git+file:///srv/web.git?ref=main&rev=" + sha);
    assertThat(Builder.flakeRef("https://git.example.org/web", "refs/heads/prod", sha, "deploy"))
        .isEqualTo("git+https://git.example.org/web?ref=prod&rev=" + sha + "&dir=deploy");
    assertThat(Builder.flakeRef("file:///srv/web.git", sha, sha, ".")).isEqualTo("git+file:///srv/web.git?rev=" + sha);
    assertThatThrownBy(() -> Builder.flakeRef("file:///srv/web.git", "main", "abc", null)).hasMessageContaining("40-character");
  }

  @Test
  void nixsErrorLinesAreWhatTheMessageKeeps() {
    String tail = "warning: Git tree is dirty\nerror: cannot coerce an integer to a string\n\n       at /nix/store/x/nix/guest.nix:5:3:\n";
    assertThat(BuildRun.errorLines(tail)).startsWith("error: cannot coerce an integer to a string").contains("guest.nix:5:3");
    assertThat(BuildRun.pushUrl("http://127.0.0.1:7444")).isEqualTo("http://127.0.0.1:7444?compression=none");
    assertThat(BuildRun.pushUrl("http://h/?compression=zstd")).isEqualTo("http://h/?compression=zstd");
  }
}
