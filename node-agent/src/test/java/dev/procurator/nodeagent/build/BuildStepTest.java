package dev.procurator.nodeagent.build;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.procurator.api.runtime.Conditions;
import dev.procurator.api.v1alpha1.Build;
import dev.procurator.api.v1alpha1.BuildAgreements;
import dev.procurator.api.v1alpha1.BuildPhase;
import dev.procurator.api.v1alpha1.BuildSpec;
import dev.procurator.api.v1alpha1.BuildStatus;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

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

  @Test
  void aBuildPlacedHereStartsWhenASlotIsFree() {
    var d = BuildStep.decide(build(placed(ME, BuildPhase.SCHEDULED, 1)), ME, null, null, true, NOW);
    assertThat(d.action()).isEqualTo(BuildStep.Action.START);
    assertThat(d.status().phase()).isEqualTo(BuildPhase.EVALUATING);
    assertThat(d.status().startTime()).isEqualTo("2026-12-03T10:00:00Z");
    var full = BuildStep.decide(build(placed(ME, BuildPhase.SCHEDULED, 1)), ME, null, null, false, NOW);
    assertThat(full.action()).isEqualTo(BuildStep.Action.NONE);
    assertThat(full.requeue()).isEqualTo(BuildStep.SLOT_WAIT);
  }

  @Test
  void aBuildThatWasRunningHereBeforeARestartStartsOver() {
    var d = BuildStep.decide(build(placed(ME, BuildPhase.BUILDING, 2)), ME, null, null, true, NOW);
    assertThat(d.action()).isEqualTo(BuildStep.Action.START);
  }

  @Test
  void aBuildPlacedElsewhereIsNotStartedHere() {
    assertThat(BuildStep.decide(build(placed("node-b", BuildPhase.SCHEDULED, 1)), ME, null, null, true, NOW).action())
        .isEqualTo(BuildStep.Action.NONE);
  }

  @Test
  void aRunningAttemptReportsItsStep() {
    var d = BuildStep.decide(build(placed(ME, BuildPhase.EVALUATING, 1)), ME, 1, running(BuildPhase.BUILDING), true, NOW);
    assertThat(d.action()).isEqualTo(BuildStep.Action.NONE);
    assertThat(d.status().phase()).isEqualTo(BuildPhase.BUILDING);
    assertThat(Conditions.reason(d.status().conditions(), BuildAgreements.READY)).isEqualTo("Building");
    assertThat(d.status().outputs()).containsEntry("web", "/nix/store/x-web");
  }

  @Test
  void aSuccessIsWrittenThenTheAttemptForgotten() {
    var done = new BuildRun.Progress(BuildPhase.SUCCEEDED, "built web", Map.of("web", "/nix/store/x-web"), List.of(), null, true);
    var d = BuildStep.decide(build(placed(ME, BuildPhase.PUSHING, 1)), ME, 1, done, true, NOW);
    assertThat(d.action()).isEqualTo(BuildStep.Action.FORGET);
    assertThat(d.status().phase()).isEqualTo(BuildPhase.SUCCEEDED);
    assertThat(d.status().completionTime()).isNotNull();
    assertThat(Conditions.isTrue(d.status().conditions(), BuildAgreements.READY)).isTrue();
  }

  @Test
  void aRetryableFailureGoesBackToTheQueueWithBackoffWhileAttemptsAreLeft() {
    var d = BuildStep.decide(build(placed(ME, BuildPhase.BUILDING, 1)), ME, 1, failed("BuildFailed", true), true, NOW);
    assertThat(d.status().phase()).isEqualTo(BuildPhase.PENDING);
    assertThat(d.status().nodeName()).isNull();
    assertThat(d.status().attemptNumber()).isEqualTo(2);
    assertThat(d.status().notBefore()).isEqualTo("2026-12-03T10:00:05Z");
    assertThat(d.status().failedAttribute()).isEqualTo("web");
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
  void anAttemptWhoseBuildMovedOnIsStopped() {
    // deleted
    assertThat(BuildStep.decide(null, ME, 1, running(BuildPhase.BUILDING), true, NOW).action()).isEqualTo(BuildStep.Action.STOP);
    // back in the queue (its builder was thought dead), or on another attempt
    assertThat(BuildStep.decide(build(BuildStatus.pending()), ME, 1, running(BuildPhase.BUILDING), true, NOW).action())
        .isEqualTo(BuildStep.Action.STOP);
    assertThat(BuildStep.decide(build(placed(ME, BuildPhase.SCHEDULED, 2)), ME, 1, running(BuildPhase.BUILDING), true, NOW).action())
        .isEqualTo(BuildStep.Action.STOP);
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
