package dev.procurator.apiserver.registry;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.procurator.apiserver.resource.FieldError;
import dev.procurator.apiserver.resource.ResourceType;
import java.util.List;
import java.util.stream.Collectors;

/**
 * A request that failed, with the HTTP code and the Kubernetes {@code Status} it answers with.
 * Every error a client can see is one of these; the HTTP layer only serialises {@link #status()}.
 */
public final class ApiException extends RuntimeException {
  private final int code;
  private final String reason;
  private final ObjectNode details;

  public ApiException(int code, String reason, String message, ObjectNode details) {
    super(message, null, false, false);
    this.code = code;
    this.reason = reason;
    this.details = details;
  }

  /**
   * What a failed future of the API's own failed with: an ApiException as it is, a storage failure
   * as the ApiException it maps to, anything else (a bug) as it is, for the caller to log.
   */
  public static RuntimeException unwrap(Throwable failure) {
    return switch (dev.procurator.apiserver.storage.StorageException.cause(failure)) {
      case ApiException e -> e;
      case dev.procurator.apiserver.storage.StorageException e -> StoredObjects.translate(e, null, null);
      case RuntimeException e -> e;
      case Throwable t -> new IllegalStateException(t);
    };
  }

  public int code() {
    return code;
  }

  public String reason() {
    return reason;
  }

  private static ObjectNode details(ResourceType type, String name) {
    ObjectNode d = Json.object();
    if (name != null) {
      d.put("name", name);
    }
    if (type != null) {
      d.put("group", type.group());
      d.put("kind", type.plural());
    }
    return d;
  }

  public static ApiException badRequest(String message) {
    return new ApiException(400, "BadRequest", message, null);
  }

  public static ApiException unauthorized(String message) {
    return new ApiException(401, "Unauthorized", message, null);
  }

  public static ApiException forbidden(String message) {
    return new ApiException(403, "Forbidden", message, null);
  }

  public static ApiException notFound(ResourceType type, String name) {
    return new ApiException(404, "NotFound", type.qualifiedResource() + " \"" + name + "\" not found", details(type, name));
  }

  public static ApiException notFound(String message) {
    return new ApiException(404, "NotFound", message, null);
  }

  public static ApiException methodNotAllowed(String message) {
    return new ApiException(405, "MethodNotAllowed", message, null);
  }

  public static ApiException notAcceptable(String message) {
    return new ApiException(406, "NotAcceptable", message, null);
  }

  public static ApiException alreadyExists(ResourceType type, String name) {
    return new ApiException(409, "AlreadyExists", type.qualifiedResource() + " \"" + name + "\" already exists", details(type, name));
  }

  public static ApiException conflict(ResourceType type, String name, String why) {
    return new ApiException(409, "Conflict", "Operation cannot be fulfilled on " + type.qualifiedResource() + " \"" + name + "\": " + why,
        details(type, name));
  }

  public static ApiException gone(String message) {
    return new ApiException(410, "Expired", message, null);
  }

  public static ApiException tooLarge(String message) {
    return new ApiException(413, "RequestEntityTooLarge", message, null);
  }

  public static ApiException unsupportedMediaType(String message) {
    return new ApiException(415, "UnsupportedMediaType", message, null);
  }

  public static ApiException invalid(ResourceType type, String name, List<FieldError> errors) {
    ObjectNode d = details(type, name);
    d.put("kind", type.kind());
    ArrayNode causes = d.putArray("causes");
    for (FieldError e : errors) {
      causes.addObject().put("reason", e.reason()).put("message", e.message()).put("field", e.field());
    }
    String list = errors.size() == 1 ? errors.get(0).describe()
        : errors.stream().map(FieldError::describe).collect(Collectors.joining(", ", "[", "]"));
    return new ApiException(422, "Invalid", type.qualifiedKind() + " \"" + (name == null ? "" : name) + "\" is invalid: " + list, d);
  }

  public static ApiException tooManyRequests(String message) {
    return new ApiException(429, "TooManyRequests", message, null);
  }

  public static ApiException internal(String message) {
    return new ApiException(500, "InternalError", message, null);
  }

  public static ApiException unavailable(String message) {
    return new ApiException(503, "ServiceUnavailable", message, null);
  }

  public static ApiException timeout(String message) {
    return new ApiException(504, "Timeout", message, null);
  }

  /** The {@code Status} object of this failure. */
  public ObjectNode status() {
    ObjectNode s = Json.object();
    s.put("kind", "Status");
    s.put("apiVersion", "v1");
    s.putObject("metadata");
    s.put("status", "Failure");
    s.put("message", getMessage());
    s.put("reason", reason);
    if (details != null) {
      s.set("details", details);
    }
    s.put("code", code);
    return s;
  }
}
