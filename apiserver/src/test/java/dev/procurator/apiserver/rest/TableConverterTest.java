package dev.procurator.apiserver.rest;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.time.Duration;
import org.junit.jupiter.api.Test;

class TableConverterTest {
  @Test
  void ageIsPrintedLikeKubectl() {
    assertThat(TableConverter.humanDuration(Duration.ofSeconds(45))).isEqualTo("45s");
    assertThat(TableConverter.humanDuration(Duration.ofSeconds(200))).isEqualTo("3m20s");
    assertThat(TableConverter.humanDuration(Duration.ofMinutes(42))).isEqualTo("42m");
    assertThat(TableConverter.humanDuration(Duration.ofMinutes(125 + 60 * 3))).isEqualTo("5h5m");
    assertThat(TableConverter.humanDuration(Duration.ofHours(30))).isEqualTo("30h");
    assertThat(TableConverter.humanDuration(Duration.ofDays(4))).isEqualTo("4d");
    assertThat(TableConverter.humanDuration(Duration.ofDays(400))).isEqualTo("400d");
  }

  @Test
  void jsonPathFollowsFieldsIndexesAndFilters() throws Exception {
    var node = new ObjectMapper().readTree("""
        {"status":{"conditions":[{"type":"Ready","status":"True"},{"type":"Healthy","status":"False"}],"list":[1,2]}}""");
    assertThat(JsonPath.compile(".status.conditions[?(@.type==\"Ready\")].status").evaluate(node))
        .extracting(n -> n.asText()).containsExactly("True");
    assertThat(JsonPath.compile(".status.conditions[1].type").evaluate(node)).extracting(n -> n.asText()).containsExactly("Healthy");
    assertThat(JsonPath.compile(".status.list[*]").evaluate(node)).hasSize(2);
    assertThat(JsonPath.compile(".status.missing").evaluate(node)).isEmpty();
  }
}
