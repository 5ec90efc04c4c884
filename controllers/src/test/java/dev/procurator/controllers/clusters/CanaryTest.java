package dev.procurator.controllers.clusters;

import static dev.procurator.controllers.clusters.ClusterRolloutTest.NOW;
import static org.assertj.core.api.Assertions.assertThat;

import dev.procurator.api.runtime.EventSpec;
import dev.procurator.api.v1alpha1.ClusterSpec;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** The canary's steps as a table: where the rollout stands in, what to do and where it stands next out. */
class CanaryTest {
  static final ClusterSpec.Step PROMOTE = new ClusterSpec.Step(null, new ClusterSpec.Pause(null), null);

  static ClusterSpec.Step vms(int n) {
    return new ClusterSpec.Step(n, null, null);
  }

  static ClusterSpec.Step pause(int seconds) {
    return new ClusterSpec.Step(null, new ClusterSpec.Pause(seconds), null);
  }

  static ClusterSpec.Step analysis(int seconds) {
    return new ClusterSpec.Step(null, null, new ClusterSpec.Analysis(seconds));
  }

  static Canary canary(ClusterSpec.Step... steps) {
    return new Canary(List.of(steps), new RollingUpdate(null));
  }

  /**
   * One row.
   *
   * @param step the step under way (null: not started), begun {@code begunAgo} seconds ago
   * @param wakeIn seconds until the canary asks to be looked at again, or null
   */
  record Row(String what, List<ClusterSpec.Step> steps, int replicas, Integer step, Integer begunAgo, int newUp, int oldUp,
      int create, int delete, Integer stepAfter, Integer wakeIn, int stepsDone) {
    @Override
    public String toString() {
      return what;
    }
  }

  static Stream<Row> rows() {
    return Stream.of(
        new Row("the first step starts one canary", List.of(vms(1), PROMOTE), 3, null, null, 0, 3, 1, 0, 0, null, 0),
        new Row("with the canary available an old VM makes way", List.of(vms(1), PROMOTE), 3, 0, 10, 1, 3, 0, 1, 0, null, 0),
        new Row("with it gone the step is done and the pause holds", List.of(vms(1), PROMOTE), 3, 0, 10, 1, 2, 0, 0, 1, null, 1),
        new Row("a pause of 0 and a step already reached go in one look", List.of(vms(1), pause(0), vms(2)), 3, 0, 10, 1, 2, 1, 0, 2, null, 2),
        new Row("a timed pause keeps the canaries the steps before it asked for", List.of(vms(2), pause(30)), 3, 1, 10, 1, 1, 1, 0, 1, 20, 0),
        new Row("an analysis under way waits for its end", List.of(vms(1), analysis(30)), 3, 1, 10, 1, 2, 0, 0, 1, 20, 0),
        new Row("an analysis that ran its time passes and the rest rolls", List.of(vms(1), analysis(30)), 3, 1, 31, 1, 2, 1, 0, 2, null, 1),
        new Row("past the last step the rest rolls", List.of(vms(1)), 3, 1, 10, 1, 2, 1, 0, 1, null, 0),
        new Row("a step asking for more VMs than replicas runs replicas", List.of(vms(5)), 3, 0, 10, 0, 3, 3, 0, 0, null, 0));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("rows")
  void stepsInOrder(Row r) {
    Situation s = new Situations(r.replicas()).fresh(r.newUp(), 0).stale(r.oldUp(), 0)
        .state(r.step(), r.begunAgo() == null ? null : NOW.minusSeconds(r.begunAgo()), null).now();
    Move m = canary(r.steps().toArray(ClusterSpec.Step[]::new)).next(s);
    assertThat(m.create()).as("create").isEqualTo(r.create());
    assertThat(m.delete()).as("delete").hasSize(r.delete()).allMatch(s.stale()::contains);
    assertThat(m.state().step()).as("step after").isEqualTo(r.stepAfter());
    assertThat(m.wakeAt()).as("wake").isEqualTo(r.wakeIn() == null ? null : NOW.plusSeconds(r.wakeIn()));
    assertThat(m.events()).as("CanaryStep events").hasSize(r.stepsDone()).allMatch(e -> e.reason().equals("CanaryStep"));
    assertThat(m.failure()).isNull();
    assertThat(m.promotion()).isNull();
    if (r.stepsDone() > 0) {
      assertThat(m.state().stepStart()).as("a step done starts the next now").isEqualTo(NOW);
    }
  }

  @Test
  void aStepThatStartsBeginsNow() {
    Move m = canary(vms(1)).next(new Situations(2).stale(2, 0).now());
    assertThat(m.state()).isEqualTo(new TemplateState(0, NOW, null, NOW));
  }

  @Test
  void theFirstRevisionSkipsTheSteps() {
    Move m = canary(vms(1), PROMOTE).next(new Situations(3).first().now());
    assertThat(m.create()).isEqualTo(3);
    assertThat(m.state().step()).isNull();
  }

  @Test
  void anAnalysisFailsOnANewVmThatIsNotHealthyAfterTheStepsBeforeItAreRecorded() {
    Situations given = new Situations(3).fresh(1, 1).stale(2, 0).state(0, NOW.minusSeconds(5), null);
    Move m = canary(vms(1), analysis(30)).next(given.now());
    assertThat(m.failure()).startsWith("analysis: VM " + given.fresh.getLast().getMetadata().getName() + " was not Healthy during the 30 s analysis");
    assertThat(m.events()).extracting(EventSpec::reason).containsExactly("CanaryStep");
    assertThat(m.state().step()).isEqualTo(1);
  }

  @Test
  void onlyAPauseWithoutSecondsWaitsForPromoteAndAPromoteEndsIt() {
    Canary c = canary(vms(1), PROMOTE, pause(30));
    Situations atPromote = new Situations(3).fresh(1, 0).stale(2, 0).state(1, NOW.minusSeconds(100), null);
    assertThat(c.awaitingPromote(atPromote.now())).hasValueSatisfying(m -> assertThat(m)
        .isEqualTo("template web is paused at canary step 2 of 3; pctl rollout promote cluster/shop goes on"));
    assertThat(c.next(atPromote.now()).state().step()).as("held").isEqualTo(1);

    atPromote.promoteAsked = NOW;
    assertThat(c.awaitingPromote(atPromote.now())).isEmpty();
    assertThat(c.next(atPromote.now()).state().step()).as("promoted: on to the timed pause").isEqualTo(2);

    Situations atTimedPause = new Situations(3).fresh(1, 0).stale(2, 0).state(2, NOW, null);
    assertThat(c.awaitingPromote(atTimedPause.now())).isEmpty();
  }

  @Test
  void theStepsAreDoneOnlyPastTheLast() {
    Canary c = canary(vms(1), PROMOTE);
    assertThat(Arrays.asList(null, 0, 1, 2)).map(step -> c.stepsDone(new Situations(3).state(step, NOW, null).now()))
        .containsExactly(true, false, false, true);
    assertThat(c.stepsDone(new Situations(3).first().state(0, NOW, null).now())).as("a first revision has no steps").isTrue();
  }
}
