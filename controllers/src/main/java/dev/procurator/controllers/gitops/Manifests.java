package dev.procurator.controllers.gitops;

import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.MappingIterator;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import java.io.IOException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Reads a commit's manifest files into objects: every document of every file, in the files'
 * order. Pure: what it cannot read is returned as errors naming the file, the document and, for
 * YAML, the line and column.
 */
public final class Manifests {
  private Manifests() {}

  private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());
  private static final ObjectMapper JSON = new ObjectMapper();

  /** One object from git: where it came from (file and 1-based document index) and what it says. */
  public record Manifest(String file, int document, ObjectNode object) {
    public String apiVersion() {
      return object.path("apiVersion").asText();
    }

    public String kind() {
      return object.path("kind").asText();
    }

    public String name() {
      return object.path("metadata").path("name").asText();
    }

    /** {@code kind/name}, lower-case kind, as kubectl prints it. */
    public String display() {
      return kind().toLowerCase(java.util.Locale.ROOT) + "/" + name();
    }

    public String where() {
      return file + ", document " + document;
    }
  }

  /** What the files hold: the objects, or why some could not be read. */
  public record Parsed(List<Manifest> manifests, List<String> errors) {}

  public static Parsed parse(List<GitSource.File> files) {
    return combine(files.stream().map(Manifests::parseFile).toList());
  }

  /** The documents of one file, unchecked against other files. Its result depends on the file's path and bytes only. */
  public static Parsed parseFile(GitSource.File f) {
    return parseFile(f, f.path().endsWith(".json"));
  }

  /** The documents of {@code f}, read as JSON or YAML. */
  public static Parsed parseFile(GitSource.File f, boolean json) {
    List<Manifest> out = new ArrayList<>();
    List<String> errors = new ArrayList<>();
    int index = 0;
    try (MappingIterator<JsonNode> docs = (json ? JSON : YAML).readerFor(JsonNode.class).readValues(f.bytes())) {
      while (docs.hasNextValue()) {
        JsonNode doc = docs.nextValue();
        index++;
        if (doc == null || doc.isNull() || doc.isMissingNode() || doc.isEmpty() && doc.isObject()) {
          continue; // an empty document between separators
        }
        for (JsonNode item : items(doc)) {
          String problem = check(item);
          if (problem != null) {
            errors.add(f.path() + ", document " + index + ": " + problem);
            continue;
          }
          out.add(new Manifest(f.path(), index, (ObjectNode) item));
        }
      }
    } catch (JsonProcessingException e) {
      JsonLocation at = e.getLocation();
      errors.add(f.path() + ", document " + (index + 1) + ": " + (json ? "invalid JSON" : "invalid YAML")
          + (at != null ? " at line " + at.getLineNr() + ", column " + at.getColumnNr() : "") + ": " + e.getOriginalMessage());
    } catch (IOException | RuntimeException e) {
      errors.add(f.path() + ": cannot be read: " + e.getMessage());
    }
    return new Parsed(out, errors);
  }

  /** The files' documents in order, with an object defined twice refused. */
  public static Parsed combine(List<Parsed> files) {
    List<Manifest> out = new ArrayList<>();
    List<String> errors = new ArrayList<>();
    Map<String, String> seen = new HashMap<>();
    for (Parsed p : files) {
      errors.addAll(p.errors());
      for (Manifest m : p.manifests()) {
        String identity = m.apiVersion().replaceAll("/.*", "") + "/" + m.kind() + "/"
            + m.object().path("metadata").path("namespace").asText("") + "/" + m.name();
        String first = seen.putIfAbsent(identity, m.where());
        if (first != null) {
          errors.add(m.where() + ": " + m.kind() + " \"" + m.name() + "\" is also defined in " + first);
          continue;
        }
        out.add(m);
      }
    }
    return new Parsed(out, errors);
  }

  /** A {@code kind: List} holds its objects in {@code items}; anything else is one object. */
  private static List<JsonNode> items(JsonNode doc) {
    if (doc.isObject() && doc.path("kind").asText().equals("List") && doc.path("items").isArray()) {
      List<JsonNode> out = new ArrayList<>();
      doc.path("items").forEach(out::add);
      return out;
    }
    return List.of(doc);
  }

  private static String check(JsonNode doc) {
    if (!doc.isObject()) {
      return "a manifest must be an object, not " + doc.getNodeType().name().toLowerCase(java.util.Locale.ROOT);
    }
    if (!doc.path("apiVersion").isTextual() || doc.path("apiVersion").asText().isEmpty()) {
      return "apiVersion is not set";
    }
    if (!doc.path("kind").isTextual() || doc.path("kind").asText().isEmpty()) {
      return "kind is not set";
    }
    if (!doc.path("metadata").path("name").isTextual() || doc.path("metadata").path("name").asText().isEmpty()) {
      return "metadata.name is not set";
    }
    return null;
  }
}
