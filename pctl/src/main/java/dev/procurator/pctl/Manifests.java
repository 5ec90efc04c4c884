package dev.procurator.pctl;

import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.MappingIterator;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

/** Reads manifests: YAML (multi-document) or JSON, from files, directories or standard input. */
final class Manifests {
  static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());

  /** One object and where it came from. */
  record Doc(String source, ObjectNode object) {}

  private Manifests() {}

  static List<Doc> read(List<String> paths, InputStream stdin) {
    List<Doc> docs = new ArrayList<>();
    for (String p : paths) {
      if (p.equals("-")) {
        try {
          docs.addAll(parse("<stdin>", stdin.readAllBytes()));
        } catch (IOException e) {
          throw new Errors.UserError("cannot read standard input: " + e.getMessage());
        }
        continue;
      }
      Path path = Path.of(p);
      if (Files.isDirectory(path)) {
        try (Stream<Path> files = Files.walk(path)) {
          for (Path f : files.filter(Files::isRegularFile).filter(Manifests::isManifest).sorted().toList()) {
            docs.addAll(parse(f.toString(), readFile(f)));
          }
        } catch (IOException e) {
          throw new Errors.UserError("cannot read " + path + ": " + e.getMessage());
        }
      } else if (Files.isRegularFile(path)) {
        docs.addAll(parse(path.toString(), readFile(path)));
      } else {
        throw new Errors.UserError("the path \"" + p + "\" does not exist");
      }
    }
    return docs;
  }

  private static boolean isManifest(Path f) {
    String n = f.getFileName().toString();
    return n.endsWith(".yaml") || n.endsWith(".yml") || n.endsWith(".json");
  }

  private static byte[] readFile(Path f) {
    try {
      return Files.readAllBytes(f);
    } catch (IOException e) {
      throw new Errors.UserError("cannot read " + f + ": " + e.getMessage());
    }
  }

  /** YAML is a superset of JSON, so one parser reads both; Lists are expanded into their items. */
  static List<Doc> parse(String source, byte[] content) {
    List<Doc> out = new ArrayList<>();
    try (MappingIterator<JsonNode> it = YAML.readerFor(JsonNode.class).readValues(content)) {
      int n = 0;
      while (it.hasNextValue()) {
        JsonNode node = it.nextValue();
        n++;
        if (node == null || node.isNull() || node.isMissingNode() || (node.isObject() && node.isEmpty())) {
          continue;
        }
        if (!node.isObject()) {
          throw new Errors.UserError(source + ": document " + n + " is not a mapping");
        }
        if (node.path("kind").asText().endsWith("List") && node.path("items").isArray()) {
          for (JsonNode item : node.path("items")) {
            out.add(new Doc(source, checked(source, n, item)));
          }
        } else {
          out.add(new Doc(source, checked(source, n, node)));
        }
      }
    } catch (JsonProcessingException e) {
      JsonLocation l = e.getLocation();
      String where = l == null ? "" : ": line " + l.getLineNr() + ", column " + l.getColumnNr();
      throw new Errors.UserError(source + where + ": " + e.getOriginalMessage());
    } catch (IOException e) {
      throw new Errors.UserError("cannot parse " + source + ": " + e.getMessage());
    }
    return out;
  }

  private static ObjectNode checked(String source, int n, JsonNode node) {
    if (!node.isObject()) {
      throw new Errors.UserError(source + ": document " + n + " has an item that is not a mapping");
    }
    if (node.path("apiVersion").asText("").isEmpty() || node.path("kind").asText("").isEmpty()) {
      throw new Errors.UserError(source + ": document " + n + " needs apiVersion and kind");
    }
    if (node.path("metadata").path("name").asText("").isEmpty() && node.path("metadata").path("generateName").asText("").isEmpty()) {
      throw new Errors.UserError(source + ": document " + n + " (" + node.path("kind").asText() + ") needs metadata.name");
    }
    return (ObjectNode) node;
  }
}
