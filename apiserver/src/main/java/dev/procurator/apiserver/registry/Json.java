package dev.procurator.apiserver.registry;

import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import java.io.IOException;
import java.util.Locale;

/** The server's one JSON (and YAML) configuration, and parsing that fails as a 400 with a location. */
public final class Json {
  public static final ObjectMapper MAPPER = JsonMapper.builder()
      .enable(DeserializationFeature.FAIL_ON_READING_DUP_TREE_KEY)
      .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
      .build();
  public static final ObjectMapper YAML = YAMLMapper.builder(new YAMLFactory())
      .enable(DeserializationFeature.FAIL_ON_READING_DUP_TREE_KEY)
      .build();
  public static final JsonNodeFactory NODES = JsonNodeFactory.instance;

  private Json() {}

  public static ObjectNode object() {
    return NODES.objectNode();
  }

  /** Parses a request body as JSON, or YAML when {@code yaml}; a top-level value must be an object. */
  public static ObjectNode parseObject(byte[] body, boolean yaml) {
    if (body == null || body.length == 0) {
      throw ApiException.badRequest("the request body is empty; an object was expected");
    }
    JsonNode node;
    try {
      node = (yaml ? YAML : MAPPER).readTree(body);
    } catch (JsonProcessingException e) {
      throw ApiException.badRequest("the request body is not valid " + (yaml ? "YAML" : "JSON") + where(e) + ": " + e.getOriginalMessage());
    } catch (IOException e) {
      throw ApiException.badRequest("cannot read the request body: " + e.getMessage());
    }
    if (node == null || !node.isObject()) {
      throw ApiException.badRequest("the request body must be a " + (yaml ? "YAML mapping" : "JSON object") + ", not "
          + (node == null ? "nothing" : node.getNodeType().name().toLowerCase(Locale.ROOT)));
    }
    return (ObjectNode) node;
  }

  /** Parses any JSON value (for patches). */
  public static JsonNode parse(byte[] body, String what) {
    try {
      JsonNode node = MAPPER.readTree(body);
      if (node == null) {
        throw ApiException.badRequest(what + " is empty");
      }
      return node;
    } catch (JsonProcessingException e) {
      throw ApiException.badRequest(what + " is not valid JSON" + where(e) + ": " + e.getOriginalMessage());
    } catch (IOException e) {
      throw ApiException.badRequest("cannot read " + what + ": " + e.getMessage());
    }
  }

  private static String where(JsonProcessingException e) {
    JsonLocation l = e.getLocation();
    return l == null || l.getLineNr() < 0 ? "" : " at line " + l.getLineNr() + ", column " + l.getColumnNr();
  }

  public static byte[] bytes(JsonNode node) {
    try {
      return MAPPER.writeValueAsBytes(node);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException(e);
    }
  }

  /** Reads a value the server itself stored. */
  public static ObjectNode readStored(byte[] value) {
    try {
      return (ObjectNode) MAPPER.readTree(value);
    } catch (IOException e) {
      throw new IllegalStateException("stored object is not JSON", e);
    }
  }
}
