package dev.procurator.api.text;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import org.junit.jupiter.api.Test;

class AgesTest {
  @Test
  void ageIsPrintedLikeKubectl() {
    assertThat(Ages.human(Duration.ofSeconds(45))).isEqualTo("45s");
    assertThat(Ages.human(Duration.ofSeconds(200))).isEqualTo("3m20s");
    assertThat(Ages.human(Duration.ofMinutes(42))).isEqualTo("42m");
    assertThat(Ages.human(Duration.ofMinutes(125 + 60 * 3))).isEqualTo("5h5m");
    assertThat(Ages.human(Duration.ofHours(30))).isEqualTo("30h");
    assertThat(Ages.human(Duration.ofDays(4))).isEqualTo("4d");
    assertThat(Ages.human(Duration.ofDays(400))).isEqualTo("400d");
    assertThat(Ages.human(Duration.ofSeconds(-5))).isEqualTo("<invalid>");
  }
}
