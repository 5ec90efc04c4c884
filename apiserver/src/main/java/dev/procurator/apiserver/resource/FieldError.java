package dev.procurator.apiserver.resource;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.Locale;

/**
 * One reason an object is invalid, worded as Kubernetes words it: {@code field: Reason: detail}.
 *
 * @param reason a Kubernetes cause type such as {@code FieldValueRequired} or {@code FieldValueInvalid}
 */
public record FieldError(String field, String reason, String message) {
  public static FieldError required(String field) {
    return new FieldError(field, "FieldValueRequired", "Required value");
  }

  public static FieldError invalid(String field, JsonNode value, String detail) {
    return new FieldError(field, "FieldValueInvalid", "Invalid value: " + render(value) + ": " + detail);
  }

  public static FieldError invalid(String field, String value, String detail) {
    return new FieldError(field, "FieldValueInvalid", "Invalid value: \"" + value + "\": " + detail);
  }

  public static FieldError unsupported(String field, JsonNode value, String supported) {
    return new FieldError(field, "FieldValueNotSupported", "Unsupported value: " + render(value) + ": supported values: " + supported);
  }

  public static FieldError typeInvalid(String field, JsonNode value, String type) {
    return new FieldError(field, "FieldValueTypeInvalid",
        "Invalid value: " + render(value) + ": " + field + " in body must be of type " + type + ": " + kindOf(value));
  }

  public static FieldError forbidden(String field, String detail) {
    return new FieldError(field, "FieldValueForbidden", "Forbidden: " + detail);
  }

  public static FieldError tooLong(String field, int max) {
    return new FieldError(field, "FieldValueTooLong", "Too long: may not be more than " + max + " bytes");
  }

  /** The whole line: {@code spec.cpu: Invalid value: 100: ...}. */
  public String describe() {
    return field + ": " + message;
  }

  private static String render(JsonNode value) {
    if (value == null || value.isMissingNode()) {
      return "null";
    }
    String s = value.isContainerNode() ? "\"" + kindOf(value) + "\"" : value.toString();
    return s.length() > 100 ? s.substring(0, 100) + "..." : s;
  }

  private static String kindOf(JsonNode value) {
    return switch (value.getNodeType()) {
      case OBJECT -> "object";
      case ARRAY -> "array";
      case STRING -> "string";
      case NUMBER -> value.isIntegralNumber() ? "integer" : "number";
      case BOOLEAN -> "boolean";
      case NULL -> "null";
      default -> value.getNodeType().name().toLowerCase(Locale.ROOT);
    };
  }
}
