package dev.procurator.apiserver.registry;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.fabric8.zjsonpatch.CompatibilityFlags;
import io.fabric8.zjsonpatch.JsonPatch;
import io.fabric8.zjsonpatch.JsonPatchException;
import java.util.EnumSet;
import java.util.Iterator;
import java.util.Map;

/** JSON merge patch (RFC 7386) and JSON patch (RFC 6902) applied to a stored object. */
final class Patches {
  private Patches() {}

  static final String MERGE = "application/merge-patch+json";
  static final String JSON_PATCH = "application/json-patch+json";

  static ObjectNode apply(String contentType, ObjectNode target, byte[] body) {
    JsonNode patch = Json.parse(body, "the patch");
    JsonNode result;
    if (contentType.startsWith(MERGE)) {
      if (!patch.isObject()) {
        throw ApiException.badRequest("a merge patch must be a JSON object");
      }
      result = merge(target.deepCopy(), patch);
    } else if (contentType.startsWith(JSON_PATCH)) {
      if (!patch.isArray()) {
        throw ApiException.badRequest("a JSON patch must be an array of operations");
      }
      try {
        result = JsonPatch.apply(patch, target, EnumSet.of(CompatibilityFlags.FORBID_REMOVE_MISSING_OBJECT));
      } catch (JsonPatchException | IllegalArgumentException e) {
        throw ApiException.badRequest("the JSON patch cannot be applied: " + e.getMessage());
      } catch (RuntimeException e) {
        throw ApiException.badRequest("the JSON patch is malformed: " + e.getMessage());
      }
    } else {
      throw ApiException.unsupportedMediaType("the patch type \"" + contentType + "\" is not supported; use "
          + MERGE + " or " + JSON_PATCH);
    }
    if (!result.isObject()) {
      throw ApiException.badRequest("the patch did not leave an object");
    }
    return (ObjectNode) result;
  }

  static JsonNode merge(JsonNode target, JsonNode patch) {
    if (!patch.isObject()) {
      return patch;
    }
    ObjectNode out = target != null && target.isObject() ? (ObjectNode) target : Json.object();
    for (Iterator<Map.Entry<String, JsonNode>> it = patch.properties().iterator(); it.hasNext(); ) {
      Map.Entry<String, JsonNode> e = it.next();
      if (e.getValue().isNull()) {
        out.remove(e.getKey());
      } else {
        out.set(e.getKey(), merge(out.get(e.getKey()), e.getValue()));
      }
    }
    return out;
  }
}
