package dev.procurator.apiserver.registry;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.List;

/**
 * The outcome of a write: the object as now stored, whether it was created, and warnings for
 * the client (for example fields that were dropped).
 */
public record Written(ObjectNode object, boolean created, List<String> warnings, byte[] json) {
  public Written(ObjectNode object, boolean created, List<String> warnings) {
    this(object, created, warnings, null);
  }

  /** The object as JSON: the stored bytes when the write produced them, else serialised now. */
  public byte[] bytes() {
    return json != null ? json : Json.bytes(object);
  }
}
