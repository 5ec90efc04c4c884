package dev.procurator.apiserver.resource;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.junit.jupiter.api.Test;

class StructuralSchemaTest {
  private static final ObjectMapper M = new ObjectMapper();

  private static final String SCHEMA = """
      {"type":"object","properties":{
        "spec":{"type":"object","required":["size"],"properties":{
          "size":{"type":"integer","minimum":1,"maximum":10},
          "mode":{"type":"string","enum":["a","b"],"default":"a"},
          "name":{"type":"string","pattern":"^[a-z]+$","maxLength":5},
          "tags":{"type":"object","additionalProperties":{"type":"string"}},
          "items":{"type":"array","items":{"type":"object","properties":{"port":{"type":"integer"}}}},
          "any":{"type":"object","x-kubernetes-preserve-unknown-fields":true},
          "quantity":{"x-kubernetes-int-or-string":true}}}}}""";

  private static StructuralSchema.Result apply(ObjectNode o) throws Exception {
    return StructuralSchema.apply(o, M.readTree(SCHEMA));
  }

  @Test
  void defaultsAreFilledAndUnknownFieldsPruned() throws Exception {
    ObjectNode o = (ObjectNode) M.readTree("""
        {"apiVersion":"x/v1","kind":"K","metadata":{"name":"n"},"spec":{"size":3,"extra":1,"items":[{"port":1,"junk":2}],
         "any":{"whatever":{"deep":true}},"quantity":"1Gi"},"stray":true}""");
    StructuralSchema.Result r = apply(o);
    assertThat(r.errors()).isEmpty();
    assertThat(r.unknownFields()).containsExactlyInAnyOrder("spec.extra", "spec.items[0].junk", "stray");
    assertThat(o.at("/spec/mode").asText()).isEqualTo("a");
    assertThat(o.has("stray")).isFalse();
    assertThat(o.at("/spec/any/whatever/deep").asBoolean()).isTrue();
    assertThat(o.at("/metadata/name").asText()).isEqualTo("n");
  }

  @Test
  void everyViolationIsReportedWithItsPath() throws Exception {
    ObjectNode o = (ObjectNode) M.readTree("""
        {"spec":{"size":11,"mode":"c","name":"TooLongName","tags":{"k":5},"items":[{"port":"x"}],"quantity":true}}""");
    StructuralSchema.Result r = apply(o);
    assertThat(r.errors()).extracting(FieldError::field).containsExactlyInAnyOrder(
        "spec.size", "spec.mode", "spec.name", "spec.name", "spec.tags[k]", "spec.items[0].port", "spec.quantity");
    assertThat(r.errors()).extracting(FieldError::describe)
        .contains("spec.size: Invalid value: 11: spec.size in body should be less than or equal to 10")
        .contains("spec.mode: Unsupported value: \"c\": supported values: \"a\", \"b\"");
  }

  @Test
  void requiredFieldsAreNamed() throws Exception {
    StructuralSchema.Result r = apply((ObjectNode) M.readTree("{\"spec\":{}}"));
    assertThat(r.errors()).extracting(FieldError::describe).containsExactly("spec.size: Required value");
  }

  @Test
  void nullsOfNonNullableFieldsAreDropped() throws Exception {
    ObjectNode o = (ObjectNode) M.readTree("{\"spec\":{\"size\":1,\"name\":null}}");
    assertThat(apply(o).errors()).isEmpty();
    JsonNode spec = o.get("spec");
    assertThat(spec.has("name")).isFalse();
  }
}
