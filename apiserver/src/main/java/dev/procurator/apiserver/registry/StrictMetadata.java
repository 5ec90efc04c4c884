package dev.procurator.apiserver.registry;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonMappingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.cfg.CoercionAction;
import com.fasterxml.jackson.databind.cfg.CoercionInputShape;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.type.LogicalType;
import io.fabric8.kubernetes.api.model.ObjectMeta;
import java.util.stream.Collectors;

/**
 * Decodes a request's {@code metadata} into its real type, {@link ObjectMeta}, as strictly as the
 * Kubernetes API server's decoder does: a field of the wrong JSON type ({@code ownerReferences: -1},
 * {@code resourceVersion: {}}, {@code namespace: []}, a string where a number belongs) is refused
 * with 400 naming the field, rather than coerced or ignored. Fields it does not know are left to
 * the rest of validation.
 */
final class StrictMetadata {
  private static final ObjectMapper STRICT = strict();

  private StrictMetadata() {}

  private static ObjectMapper strict() {
    ObjectMapper m = JsonMapper.builder()
        .disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
        .disable(DeserializationFeature.ACCEPT_SINGLE_VALUE_AS_ARRAY)
        .enable(DeserializationFeature.FAIL_ON_NULL_FOR_PRIMITIVES)
        .enable(DeserializationFeature.FAIL_ON_NUMBERS_FOR_ENUMS)
        .build();
    // no scalar is turned into another: a number is not a string, a string is not a number or a boolean
    for (LogicalType t : LogicalType.values()) {
      m.coercionConfigFor(t)
          .setCoercion(CoercionInputShape.Integer, t == LogicalType.Integer || t == LogicalType.Float ? CoercionAction.TryConvert
              : CoercionAction.Fail)
          .setCoercion(CoercionInputShape.Float, t == LogicalType.Float ? CoercionAction.TryConvert : CoercionAction.Fail)
          .setCoercion(CoercionInputShape.Boolean, t == LogicalType.Boolean ? CoercionAction.TryConvert : CoercionAction.Fail)
          .setCoercion(CoercionInputShape.String, t == LogicalType.Textual || t == LogicalType.DateTime ? CoercionAction.TryConvert
              : CoercionAction.Fail)
          .setCoercion(CoercionInputShape.EmptyString, t == LogicalType.Textual ? CoercionAction.TryConvert : CoercionAction.Fail);
    }
    return m;
  }

  /** Throws 400 when {@code metadata} does not decode as ObjectMeta. */
  static void check(JsonNode metadata) {
    try {
      STRICT.treeToValue(metadata, ObjectMeta.class);
    } catch (JsonMappingException e) {
      String field = e.getPath().stream()
          .map(r -> r.getFieldName() != null ? "." + r.getFieldName() : "[" + r.getIndex() + "]")
          .collect(Collectors.joining());
      String message = e.getOriginalMessage();
      int cut = message.indexOf(" at [Source");
      throw ApiException.badRequest("metadata" + field + " has the wrong type: "
          + (cut > 0 ? message.substring(0, cut) : message).replace('\n', ' '));
    } catch (Exception e) {
      throw ApiException.badRequest("metadata cannot be decoded: " + e.getMessage());
    }
  }
}
