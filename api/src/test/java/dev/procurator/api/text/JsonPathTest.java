package dev.procurator.api.text;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;

class JsonPathTest {
  private static JsonNode json(String s) throws Exception {
    return new ObjectMapper().readTree(s);
  }

  @Test
  void jsonPathFollowsFieldsIndexesAndFilters() throws Exception {
    var node = json("""
        {"status":{"conditions":[{"type":"Ready","status":"True"},{"type":"Healthy","status":"False"}],"list":[1,2]}}""");
    assertThat(JsonPath.compile(".status.conditions[?(@.type==\"Ready\")].status").evaluate(node))
        .extracting(n -> n.asText()).containsExactly("True");
    assertThat(JsonPath.compile(".status.conditions[1].type").evaluate(node)).extracting(n -> n.asText()).containsExactly("Healthy");
    assertThat(JsonPath.compile(".status.list[*]").evaluate(node)).hasSize(2);
    assertThat(JsonPath.compile(".status.missing").evaluate(node)).isEmpty();
    assertThat(JsonPath.compile("{$.status.list[-1]}").evaluate(node)).extracting(JsonNode::asInt).containsExactly(2);
  }

  @Test
  void anEscapedDotIsPartOfTheFieldName() throws Exception {
    var vm = json("""
        {"metadata":{"labels":{"procurator.dev/revision":"abc","procurator":{"dev/revision":"nested"}}},
         "status":{"conditions":[{"type":"a.b","status":"True"}],"items":[{"x.y":{"z":"1"}}]}}""");
    assertThat(JsonPath.compile(".metadata.labels.procurator\\.dev/revision").evaluate(vm)).extracting(JsonNode::asText).containsExactly("abc");
    assertThat(JsonPath.compile(".metadata.labels.procurator.dev/revision").evaluate(vm)).as("unescaped, the dot separates")
        .extracting(JsonNode::asText).containsExactly("nested");
    assertThat(JsonPath.compile(".status.items[?(@.x\\.y.z==\"1\")].x\\.y.z").evaluate(vm)).extracting(JsonNode::asText).containsExactly("1");
    assertThat(JsonPathTemplate.parse("{.metadata.labels.procurator\\.dev/revision}").render(vm)).isEqualTo("abc");
  }

  @Test
  void templatesPrintAsKubectlPrintsThem() throws Exception {
    var list = json("""
        {"kind":"List","items":[{"metadata":{"name":"a"},"spec":{"cpu":1}},{"metadata":{"name":"b"},"spec":{"cpu":2}}]}""");
    assertThat(JsonPathTemplate.parse("{.items[*].metadata.name}").render(list)).isEqualTo("a b");
    assertThat(JsonPathTemplate.parse("{range .items[*]}{.metadata.name}={.spec.cpu}{\"\\n\"}{end}").render(list)).isEqualTo("a=1\nb=2\n");
    assertThat(JsonPathTemplate.parse("cpu: {.items[0].spec}").render(list)).isEqualTo("cpu: {\"cpu\":1}");
    assertThat(JsonPathTemplate.parse("{.items[5].metadata.name}").render(list)).isEmpty();
  }

  @Test
  void malformedTemplatesSayWhatIsWrong() {
    assertThatThrownBy(() -> JsonPathTemplate.parse("{.metadata.name")).hasMessageContaining("unclosed {");
    assertThatThrownBy(() -> JsonPathTemplate.parse("{range .items[*]}{.a}")).hasMessageContaining("without {end}");
    assertThatThrownBy(() -> JsonPathTemplate.parse("{end}")).hasMessageContaining("without {range}");
  }
}
