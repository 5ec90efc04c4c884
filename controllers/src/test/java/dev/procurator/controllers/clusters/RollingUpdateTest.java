package dev.procurator.controllers.clusters;

import static dev.procurator.controllers.clusters.ClusterRolloutTest.NOW;
import static dev.procurator.controllers.clusters.ClusterRolloutTest.ios;
import static org.assertj.core.api.Assertions.assertThat;

import dev.procurator.api.v1alpha1.ClusterSpec;
import dev.procurator.api.v1alpha1.RolloutStrategyType;
import dev.procurator.api.v1alpha1.VM;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** The rolling update as a table: VMs in, VMs to create and delete out. */
class RollingUpdateTest {
  static RollingUpdate rolling(String maxSurge, String maxUnavailable) {
    return new RollingUpdate(new ClusterSpec.Strategy(RolloutStrategyType.ROLLING_UPDATE, ios(value(maxUnavailable)), ios(value(maxSurge)),
        null, null, null, null));
  }

  static Object value(String s) {
    return s == null ? null : s.endsWith("%") ? s : (Object) Integer.valueOf(s);
  }

  @ParameterizedTest(name = "{0}")
  @CsvSource(delimiter = '|', nullValues = "-", textBlock = """
      # case                                                        | replicas | surge | unavail | new up | new booting | old up | old down | create | delete | recheck s
      surge 1 and the oldest goes: its place is taken at once         | 3        | 1     | 1       | 0      | 0           | 3      | 0        | 2      | 1      | -
      no room, no loss allowed: wait for the booting one               | 3        | 1     | 0       | 0      | 1           | 3      | 0        | 0      | 0      | 5
      defaults 25 %: surge rounds up, unavailability down              | 4        | -     | -       | 0      | 0           | 4      | 0        | 2      | 1      | -
      percentages of 10: surge 3, unavailable 2                        | 10       | 25%   | 25%     | 0      | 0           | 10     | 0        | 5      | 2      | -
      both limits 0: one may be unavailable                            | 3        | 0     | 0       | 0      | 0           | 3      | 0        | 1      | 1      | -
      an unavailable old VM goes first and costs nothing               | 3        | 0     | 0       | 0      | 0           | 2      | 1        | 1      | 1      | -
      every old VM needed and no room: look again in 5 s               | 3        | 0     | 0       | 0      | 1           | 2      | 0        | 0      | 0      | 5
      old VMs go as new ones become available                          | 3        | 1     | 0       | 1      | 0           | 3      | 0        | 1      | 1      | -
      done: nothing to do                                              | 3        | 1     | 1       | 3      | 0           | 0      | 0        | 0      | 0      | -
      no old VMs: the missing new ones up to replicas                  | 3        | 0     | 1       | 1      | 0           | 0      | 0        | 2      | 0      | -
      """)
  void rollsWithinItsLimits(String what, int replicas, String surge, String unavailable, int newUp, int newBooting, int oldUp, int oldDown,
      int create, int delete, Integer recheck) {
    Situation s = new Situations(replicas).fresh(newUp, newBooting).stale(oldUp, oldDown).now();
    Move m = rolling(surge, unavailable).next(s);
    assertThat(m.create()).as("create").isEqualTo(create);
    assertThat(m.delete()).as("delete").hasSize(delete);
    assertThat(m.delete()).as("only old VMs go").allMatch(s.stale()::contains);
    assertThat(m.wakeAt()).isEqualTo(recheck == null ? null : NOW.plusSeconds(recheck));
    assertThat(m.state()).isEqualTo(s.state());
  }

  @ParameterizedTest(name = "replicas {0}, {1} available and {2} booting new VMs: delete {3}")
  @CsvSource(textBlock = """
      2, 3, 0, youngest
      2, 2, 1, booting
      0, 1, 1, both
      """)
  void fewerReplicasRemoveTheUnavailableNewVmsFirstThenTheYoungest(int replicas, int up, int booting, String which) {
    Situations given = new Situations(replicas).fresh(up, booting);
    Move m = rolling("1", "1").next(given.now());
    VM youngest = given.fresh.get(up - 1);
    VM unready = booting == 0 ? null : given.fresh.getLast();
    switch (which) {
      case "youngest" -> assertThat(m.delete()).containsExactly(youngest);
      case "booting" -> assertThat(m.delete()).containsExactly(unready);
      default -> assertThat(m.delete()).containsExactly(unready, youngest);
    }
    assertThat(m.create()).isZero();
  }

  @ParameterizedTest(name = "replicas {0}, maxSurge {1}, maxUnavailable {2} -> surge {3}, unavailable {4}")
  @CsvSource(nullValues = "-", textBlock = """
      4,  -,   -,   1, 1
      10, 25%, 25%, 3, 2
      3,  0,   0,   0, 1
      3,  0,   0%,  0, 1
      5,  50%, 0,   3, 0
      1,  -,   -,   1, 0
      """)
  void limitsResolveCountsAndPercentages(int replicas, String surge, String unavailable, int maxSurge, int maxUnavailable) {
    ClusterSpec.Strategy spec = rolling(surge, unavailable).spec();
    assertThat(RollingUpdate.Limits.of(spec, replicas)).isEqualTo(new RollingUpdate.Limits(maxSurge, maxUnavailable));
  }
}
