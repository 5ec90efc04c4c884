package dev.procurator.api.runtime;

import static org.assertj.core.api.Assertions.assertThat;

import io.fabric8.kubernetes.api.model.Condition;
import io.fabric8.kubernetes.api.model.ConditionBuilder;
import java.util.List;
import org.junit.jupiter.api.Test;

class ConditionsTest {
  private static Condition c(String type, String status, String reason, String time) {
    return new ConditionBuilder().withType(type).withStatus(status).withReason(reason).withLastTransitionTime(time).build();
  }

  @Test
  void replacesByTypeAndMovesTheTransitionTimeOnlyWithTheStatus() {
    List<Condition> start = Conditions.set(null, c("Booted", "False", "Booting", "t1"));
    List<Condition> same = Conditions.set(start, c("Booted", "False", "BackOff", "t2"));
    assertThat(same).singleElement().satisfies(x -> {
      assertThat(x.getReason()).isEqualTo("BackOff");
      assertThat(x.getLastTransitionTime()).isEqualTo("t1");
    });
    List<Condition> flipped = Conditions.set(Conditions.set(same, c("Healthy", "Unknown", "NotYetChecked", "t3")),
        c("Booted", "True", "Ready", "t4"));
    assertThat(flipped).extracting(Condition::getType).containsExactly("Booted", "Healthy");
    assertThat(flipped.getFirst().getLastTransitionTime()).isEqualTo("t4");
  }

  @Test
  void findsReadsAndRemovesByType() {
    List<Condition> cs = Conditions.setAll(null, Conditions.of("Ready", "True", "Up", "up", java.time.Instant.parse("2026-01-01T00:00:00.5Z")),
        null, c("Healthy", "False", "CheckFailing", "t"));
    assertThat(Conditions.isTrue(cs, "Ready")).isTrue();
    assertThat(Conditions.isTrue(cs, "Healthy")).isFalse();
    assertThat(Conditions.isTrue(null, "Ready")).isFalse();
    assertThat(Conditions.reason(cs, "Healthy")).isEqualTo("CheckFailing");
    assertThat(Conditions.reason(cs, "Missing")).isEmpty();
    assertThat(Conditions.find(cs, "Ready").orElseThrow().getLastTransitionTime()).isEqualTo("2026-01-01T00:00:00Z");
    assertThat(Conditions.remove(cs, "Ready")).extracting(Condition::getType).containsExactly("Healthy");
  }
}
