package dev.procurator.apiserver.resource;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import java.util.stream.StreamSupport;

/**
 * Applies a CRD's OpenAPI v3 structural schema to an object the way the Kubernetes API server
 * does: fills in defaults, drops fields the schema does not know (pruning) and nulls of
 * non-nullable fields, then validates types, enums, bounds, lengths, patterns and required fields.
 *
 * <p>Thread-safe; compiled patterns are cached.
 */
public final class StructuralSchema {
  private static final Set<String> ROOT_FIELDS = Set.of("apiVersion", "kind", "metadata");
  private static final Map<String, Pattern> PATTERNS = new ConcurrentHashMap<>();

  /** What applying a schema found. {@code unknownFields} were pruned from the object. */
  public record Result(List<FieldError> errors, List<String> unknownFields) {}

  private final List<FieldError> errors = new ArrayList<>();
  private final List<String> unknown = new ArrayList<>();

  private StructuralSchema() {}

  /** Defaults, prunes and validates {@code object} in place against {@code schema}. */
  public static Result apply(ObjectNode object, JsonNode schema) {
    StructuralSchema s = new StructuralSchema();
    if (schema != null) {
      s.object(object, schema, "", true);
    }
    return new Result(List.copyOf(s.errors), List.copyOf(s.unknown));
  }

  private static String child(String path, String name) {
    return path.isEmpty() ? name : path + "." + name;
  }

  private void object(ObjectNode node, JsonNode schema, String path, boolean root) {
    JsonNode properties = schema.path("properties");
    JsonNode additional = schema.get("additionalProperties");
    boolean preserve = schema.path("x-kubernetes-preserve-unknown-fields").asBoolean(false)
        || (additional != null && additional.isBoolean() && additional.asBoolean());
    // defaults first, as the server applies them while decoding
    properties.properties().forEach(p -> {
      JsonNode def = p.getValue().get("default");
      if (def != null && (!node.has(p.getKey()) || node.get(p.getKey()).isNull())) {
        node.set(p.getKey(), def.deepCopy());
      }
    });
    for (Iterator<Map.Entry<String, JsonNode>> it = node.properties().iterator(); it.hasNext(); ) {
      Map.Entry<String, JsonNode> field = it.next();
      String name = field.getKey();
      if (root && ROOT_FIELDS.contains(name)) {
        continue;
      }
      JsonNode propertySchema = properties.get(name);
      String fieldPath = child(path, name);
      if (propertySchema == null && additional != null && additional.isObject()) {
        propertySchema = additional;
        fieldPath = path + "[" + name + "]";
      }
      if (propertySchema == null) {
        if (!preserve) {
          unknown.add(fieldPath);
          it.remove();
        }
        continue;
      }
      if (field.getValue().isNull() && !propertySchema.path("nullable").asBoolean(false)) {
        it.remove();
        continue;
      }
      value(field.getValue(), propertySchema, fieldPath);
    }
    for (JsonNode required : schema.path("required")) {
      if (!node.has(required.asText())) {
        errors.add(FieldError.required(child(path, required.asText())));
      }
    }
    bounds(path, node, schema, node.size(), "minProperties", "maxProperties", "properties");
  }

  private void value(JsonNode node, JsonNode schema, String path) {
    if (node.isNull()) {
      return;
    }
    if (schema.path("x-kubernetes-int-or-string").asBoolean(false)) {
      if (!node.isIntegralNumber() && !node.isTextual()) {
        errors.add(FieldError.typeInvalid(path, node, "integer or string"));
      }
      return;
    }
    String type = schema.path("type").asText("");
    boolean ok = switch (type) {
      case "object" -> node.isObject();
      case "array" -> node.isArray();
      case "string" -> node.isTextual();
      case "integer" -> node.isIntegralNumber() || (node.isNumber() && node.asDouble() == Math.rint(node.asDouble()));
      case "number" -> node.isNumber();
      case "boolean" -> node.isBoolean();
      default -> true;
    };
    if (!ok) {
      errors.add(FieldError.typeInvalid(path, node, type));
      return;
    }
    JsonNode enumValues = schema.get("enum");
    if (enumValues != null && enumValues.isArray() && !contains(enumValues, node)) {
      String supported = StreamSupport.stream(enumValues.spliterator(), false)
          .map(JsonNode::toString).collect(Collectors.joining(", "));
      errors.add(FieldError.unsupported(path, node, supported));
      return;
    }
    switch (node.getNodeType()) {
      case OBJECT -> object((ObjectNode) node, schema, path, false);
      case ARRAY -> {
        ArrayNode array = (ArrayNode) node;
        JsonNode items = schema.get("items");
        if (items != null) {
          for (int i = 0; i < array.size(); i++) {
            value(array.get(i), items, path + "[" + i + "]");
          }
        }
        bounds(path, node, schema, array.size(), "minItems", "maxItems", "items");
      }
      case STRING -> {
        String s = node.asText();
        bounds(path, node, schema, s.codePointCount(0, s.length()), "minLength", "maxLength", "characters");
        JsonNode pattern = schema.get("pattern");
        if (pattern != null && !compiled(pattern.asText()).matcher(s).find()) {
          errors.add(FieldError.invalid(path, node, path + " in body should match '" + pattern.asText() + "'"));
        }
      }
      case NUMBER -> numberBounds(node, schema, path);
      default -> { }
    }
  }

  private void numberBounds(JsonNode node, JsonNode schema, String path) {
    double v = node.asDouble();
    JsonNode min = schema.get("minimum");
    if (min != null) {
      boolean exclusive = schema.path("exclusiveMinimum").asBoolean(false);
      if (exclusive ? v <= min.asDouble() : v < min.asDouble()) {
        errors.add(FieldError.invalid(path, node, path + " in body should be greater than " + (exclusive ? "" : "or equal to ") + number(min)));
      }
    }
    JsonNode max = schema.get("maximum");
    if (max != null) {
      boolean exclusive = schema.path("exclusiveMaximum").asBoolean(false);
      if (exclusive ? v >= max.asDouble() : v > max.asDouble()) {
        errors.add(FieldError.invalid(path, node, path + " in body should be less than " + (exclusive ? "" : "or equal to ") + number(max)));
      }
    }
  }

  private void bounds(String path, JsonNode node, JsonNode schema, int size, String minKey, String maxKey, String unit) {
    JsonNode min = schema.get(minKey);
    if (min != null && size < min.asInt()) {
      errors.add(FieldError.invalid(path, node, path + " in body should have at least " + min.asInt() + " " + unit));
    }
    JsonNode max = schema.get(maxKey);
    if (max != null && size > max.asInt()) {
      errors.add("maxLength".equals(maxKey) ? FieldError.tooLong(path, max.asInt())
          : FieldError.invalid(path, node, path + " in body should have at most " + max.asInt() + " " + unit));
    }
  }

  private static String number(JsonNode n) {
    double d = n.asDouble();
    return d == Math.rint(d) ? Long.toString((long) d) : Double.toString(d);
  }

  private static boolean contains(JsonNode values, JsonNode node) {
    for (JsonNode v : values) {
      if (v.equals(node)) {
        return true;
      }
    }
    return false;
  }

  private static Pattern compiled(String regex) {
    return PATTERNS.computeIfAbsent(regex, Pattern::compile);
  }
}
