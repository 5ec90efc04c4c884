package dev.procurator.api.runtime;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import org.junit.jupiter.api.Test;

class BackoffTest {
  @Test
  void doublesFromTheBaseAndStopsAtTheMaximum() {
    Duration base = Duration.ofSeconds(1);
    Duration max = Duration.ofMinutes(5);
    assertThat(Backoff.delay(base, max, 0)).isEqualTo(base);
    assertThat(Backoff.delay(base, max, 1)).isEqualTo(base);
    assertThat(Backoff.delay(base, max, 2)).isEqualTo(Duration.ofSeconds(2));
    assertThat(Backoff.delay(base, max, 9)).isEqualTo(Duration.ofSeconds(256));
    assertThat(Backoff.delay(base, max, 10)).isEqualTo(max);
    assertThat(Backoff.delay(base, max, 40)).isEqualTo(max);
    assertThat(Backoff.delay(base, max, Integer.MAX_VALUE)).isEqualTo(max);
  }

  @Test
  void countsPerKeyUntilForgotten() {
    Backoff<String> b = new Backoff<>(Duration.ofMillis(5), Duration.ofSeconds(1));
    assertThat(b.next("a")).isEqualTo(Duration.ofMillis(5));
    assertThat(b.next("a")).isEqualTo(Duration.ofMillis(10));
    assertThat(b.next("b")).isEqualTo(Duration.ofMillis(5));
    b.forget("a");
    assertThat(b.failures("a")).isZero();
    assertThat(b.next("a")).isEqualTo(Duration.ofMillis(5));
  }
}
