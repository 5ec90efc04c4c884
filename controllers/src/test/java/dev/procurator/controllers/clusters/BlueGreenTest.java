package dev.procurator.controllers.clusters;

import static dev.procurator.controllers.clusters.ClusterRolloutTest.NOW;
import static org.assertj.core.api.Assertions.assertThat;

import dev.procurator.api.v1alpha1.ClusterSpec;
import dev.procurator.api.v1alpha1.RolloutStrategyType;
import java.time.Instant;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** Blue-green as a table: the new VMs beside the old, the switch, the old ones' delayed end. */
class BlueGreenTest {
  static BlueGreen blueGreen(Boolean autoPromotion, Integer delay) {
    ClusterSpec.Strategy spec = new ClusterSpec.Strategy(RolloutStrategyType.BLUE_GREEN, null, null, null, autoPromotion, delay, null);
    return new BlueGreen(spec, new RollingUpdate(spec));
  }

  /**
   * One row; 2 replicas.
   *
   * @param promotedAgo seconds since the target became current (the target is then current), or null
   * @param ready since when every new VM is available, as the state carries it; null when not yet
   */
  record Row(String what, Boolean auto, Integer delay, Integer promotedAgo, int newUp, int newBooting, int oldUp, int create, int delete,
      boolean promotes, Integer wakeIn, Instant ready) {
    @Override
    public String toString() {
      return what;
    }
  }

  static Stream<Row> rows() {
    return Stream.of(
        new Row("every new VM starts beside the old ones", null, null, null, 0, 0, 2, 2, 0, false, null, null),
        new Row("one new VM is not available: nothing switches", null, null, null, 1, 1, 2, 0, 0, false, null, null),
        new Row("all available: promoted, old VMs kept for the default 30 s", null, null, null, 2, 0, 2, 0, 0, true, 30, NOW),
        new Row("all available, no delay: the old VMs go at once", true, 0, null, 2, 0, 2, 0, 2, true, null, NOW),
        new Row("without autoPromotion it waits", false, 0, null, 2, 0, 2, 0, 0, false, null, NOW),
        new Row("more new VMs than replicas: the extra goes", null, null, null, 3, 0, 2, 0, 1, false, null, null),
        new Row("promoted 20 s ago with a 30 s delay: the old VMs wait", null, 30, 20, 2, 0, 2, 0, 0, false, 10, null),
        new Row("promoted 31 s ago with a 30 s delay: the old VMs go", null, 30, 31, 2, 0, 2, 0, 2, false, null, null));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("rows")
  void previewsThenSwitches(Row r) {
    Situations given = new Situations(2).fresh(r.newUp(), r.newBooting()).stale(r.oldUp(), 0);
    if (r.promotedAgo() != null) {
      given.promoted().state(null, null, NOW.minusSeconds(r.promotedAgo()));
    }
    Situation s = given.now();
    Move m = blueGreen(r.auto(), r.delay()).next(s);
    assertThat(m.create()).as("create").isEqualTo(r.create());
    assertThat(m.delete()).as("delete").hasSize(r.delete());
    assertThat(m.promotion() != null).as("promotes").isEqualTo(r.promotes());
    assertThat(m.wakeAt()).as("wake").isEqualTo(r.wakeIn() == null ? null : NOW.plusSeconds(r.wakeIn()));
    if (r.promotedAgo() == null) {
      assertThat(m.state().stepStart()).as("ready for promotion since").isEqualTo(r.ready());
    }
    if (r.promotes()) {
      assertThat(m.state().promoted()).isEqualTo(NOW);
      assertThat(m.promotion()).isEqualTo("promoted: all 2 VMs of revision " + ClusterRolloutTest.H2 + " are available");
    }
  }

  @Test
  void withoutAutoPromotionItWaitsForAPromoteMadeSinceTheNewVmsWereReady() {
    BlueGreen bg = blueGreen(false, 0);
    Situations given = new Situations(2).fresh(2, 0).stale(2, 0).state(null, NOW.minusSeconds(60), null);
    assertThat(bg.awaitingPromote(given.now())).hasValue("template web: the new revision " + ClusterRolloutTest.H2
        + " is available; pctl rollout promote cluster/shop switches to it");
    given.promoteAsked = NOW.minusSeconds(120);
    assertThat(bg.next(given.now()).promotion()).as("a promote from before").isNull();
    given.promoteAsked = NOW.minusSeconds(30);
    assertThat(bg.awaitingPromote(given.now())).isEmpty();
    assertThat(bg.next(given.now()).promotion()).isNotNull();
  }

  @Test
  void aRestartAfterThePromotionRollsInsteadOfWaitingOutTheDelay() {
    Situations given = new Situations(2).promoted().staleOfTarget(2).state(null, null, NOW.minusSeconds(5));
    Move m = blueGreen(null, 30).next(given.now());
    assertThat(m.wakeAt()).as("no scale-down delay").isNull();
    assertThat(m.create()).as("a rolling update, 25 % surge").isEqualTo(1);
  }

  @Test
  void theFirstRevisionNeitherPreviewsNorWaitsForPromote() {
    BlueGreen bg = blueGreen(false, 30);
    Situation s = new Situations(2).first().fresh(2, 0).now();
    assertThat(bg.awaitingPromote(s)).isEmpty();
    assertThat(bg.promotesWhenComplete(s)).isTrue();
    assertThat(bg.next(new Situations(2).first().now()).create()).isEqualTo(2);
  }
}
