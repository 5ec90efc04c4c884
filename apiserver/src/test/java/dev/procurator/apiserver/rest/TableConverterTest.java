package dev.procurator.apiserver.rest;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;

class TableConverterTest {
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
