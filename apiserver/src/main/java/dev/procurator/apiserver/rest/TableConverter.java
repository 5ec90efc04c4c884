package dev.procurator.apiserver.rest;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.procurator.api.text.Ages;
import dev.procurator.api.text.JsonPath;
import dev.procurator.apiserver.registry.Json;
import dev.procurator.apiserver.resource.ResourceType;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Collectors;

/**
 * Renders objects as a {@code meta.k8s.io/v1} Table from a type's printer columns, as {@code
 * kubectl get} asks for. The name comes first; a creation-time column (Age) comes last.
 */
final class TableConverter {
  private record Column(ResourceType.PrinterColumn column, JsonPath path) {}

  private final List<Column> columns = new ArrayList<>();
  private final ObjectNode definitions;
  private final Clock clock;

  TableConverter(ResourceType type, Clock clock) {
    this.clock = clock;
    List<ResourceType.PrinterColumn> ordered = new ArrayList<>(type.printerColumns());
    ordered.sort((a, b) -> Boolean.compare(isAge(a), isAge(b)));
    if (ordered.stream().noneMatch(TableConverter::isAge)) {
      ordered.add(new ResourceType.PrinterColumn("Age", "date", null, "time since the object was created", 0,
          ".metadata.creationTimestamp"));
    }
    definitions = Json.object();
    ArrayNode defs = definitions.putArray("columnDefinitions");
    defs.addObject().put("name", "Name").put("type", "string").put("format", "name")
        .put("description", "Name must be unique within a namespace.").put("priority", 0);
    for (ResourceType.PrinterColumn c : ordered) {
      columns.add(new Column(c, JsonPath.compile(c.jsonPath())));
      defs.addObject().put("name", c.name()).put("type", "date".equals(c.type()) ? "string" : c.type())
          .put("format", c.format() == null || "reference".equals(c.format()) ? "" : c.format())
          .put("description", c.description() == null ? "" : c.description()).put("priority", c.priority());
    }
  }

  private static boolean isAge(ResourceType.PrinterColumn c) {
    return ".metadata.creationTimestamp".equals(c.jsonPath());
  }

  /** A Table of {@code objects}; {@code includeObject} is None, Metadata (default) or Object. */
  ObjectNode table(List<ObjectNode> objects, String resourceVersion, String continueToken, String includeObject) {
    ObjectNode t = Json.object();
    t.put("kind", "Table");
    t.put("apiVersion", "meta.k8s.io/v1");
    ObjectNode meta = t.putObject("metadata");
    if (resourceVersion != null) {
      meta.put("resourceVersion", resourceVersion);
    }
    if (continueToken != null) {
      meta.put("continue", continueToken);
    }
    t.set("columnDefinitions", definitions.get("columnDefinitions"));
    ArrayNode rows = t.putArray("rows");
    for (ObjectNode o : objects) {
      rows.add(row(o, includeObject));
    }
    return t;
  }

  private ObjectNode row(ObjectNode o, String includeObject) {
    ObjectNode row = Json.object();
    ArrayNode cells = row.putArray("cells");
    cells.add(o.path("metadata").path("name").asText());
    for (Column c : columns) {
      cells.add(cell(c, o));
    }
    switch (includeObject == null ? "Metadata" : includeObject) {
      case "None" -> { }
      case "Object" -> row.set("object", o);
      default -> {
        ObjectNode partial = row.putObject("object");
        partial.put("kind", "PartialObjectMetadata");
        partial.put("apiVersion", "meta.k8s.io/v1");
        partial.set("metadata", o.get("metadata"));
      }
    }
    return row;
  }

  private JsonNode cell(Column c, ObjectNode o) {
    List<JsonNode> values = c.path.evaluate(o);
    if (values.isEmpty()) {
      return Json.NODES.nullNode();
    }
    if ("date".equals(c.column.type())) {
      return Json.NODES.textNode(age(values.get(0).asText()));
    }
    if ("reference".equals(c.column.format()) && values.get(0).isObject()) {
      // an object reference as kubectl prints one: kind/name, the kind in lower case
      JsonNode ref = values.get(0);
      return Json.NODES.textNode(ref.path("kind").asText().toLowerCase(java.util.Locale.ROOT) + "/" + ref.path("name").asText());
    }
    if (values.size() == 1 && values.get(0).isValueNode()) {
      JsonNode v = values.get(0);
      return switch (c.column.type()) {
        case "integer" -> v.isNumber() ? Json.NODES.numberNode(v.asLong()) : v;
        case "number" -> v.isNumber() ? Json.NODES.numberNode(v.asDouble()) : v;
        case "boolean" -> Json.NODES.booleanNode(v.asBoolean());
        default -> Json.NODES.textNode(v.asText());
      };
    }
    return Json.NODES.textNode(values.stream().map(TableConverter::flat).collect(Collectors.joining(",")));
  }

  private static String flat(JsonNode v) {
    if (v.isArray()) {
      List<String> parts = new ArrayList<>();
      v.forEach(x -> parts.add(flat(x)));
      return String.join(",", parts);
    }
    return v.isValueNode() ? v.asText() : v.toString();
  }

  private String age(String timestamp) {
    try {
      return Ages.human(Duration.between(Instant.parse(timestamp), Instant.now(clock)));
    } catch (DateTimeParseException e) {
      return "<invalid>";
    }
  }
}
