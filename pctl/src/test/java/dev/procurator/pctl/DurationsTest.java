package dev.procurator.pctl;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import org.junit.jupiter.api.Test;

class DurationsTest {
  @Test
  void readsDurationsAsKubectlWritesThemAndBareSeconds() {
    assertThat(Durations.parse("60s")).isEqualTo(Duration.ofSeconds(60));
    assertThat(Durations.parse("5m")).isEqualTo(Duration.ofMinutes(5));
    assertThat(Durations.parse("1h30m")).isEqualTo(Duration.ofMinutes(90));
    assertThat(Durations.parse("1.5h")).isEqualTo(Duration.ofMinutes(90));
    assertThat(Durations.parse("500ms")).isEqualTo(Duration.ofMillis(500));
    assertThat(Durations.parse("7d")).isEqualTo(Duration.ofDays(7));
    assertThat(Durations.parse("0s")).isZero();
    assertThat(Durations.parse("90")).as("bare seconds, as earlier releases took").isEqualTo(Duration.ofSeconds(90));
  }

  @Test
  void anythingElseIsRefusedWithWhatIsAccepted() {
    for (String bad : new String[] {"", "s", "-5s", "5 s", "5x", "1h-3m", "abc", "1.s"}) {
      assertThatThrownBy(() -> Durations.parse(bad)).as(bad).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("such as 30s");
    }
  }

  @Test
  void aBadTimeoutIsAUsageErrorNamingTheOption() {
    PctlRun r = PctlRun.run(java.nio.file.Path.of("/nonexistent/kubeconfig"), "rollout", "status", "cluster/web", "--timeout", "soon");
    assertThat(r.code()).isEqualTo(2);
    assertThat(r.err()).contains("--timeout", "\"soon\" is not a duration");
  }
}
