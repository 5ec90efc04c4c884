package dev.procurator.apiserver.registry;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.procurator.apiserver.resource.FieldError;
import dev.procurator.apiserver.resource.ResourceType;
import dev.procurator.apiserver.resource.StructuralSchema;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Objects;

/**
 * The checks the write verbs share, written once: a body's kind, apiVersion, metadata, name and
 * namespace against the request's URL, the resourceVersion precondition it carries, and the
 * admission chain every object passes before it is stored (kind defaults, pruning and validation
 * by the type's schema, kind rules, then the request's admission).
 *
 * <p>Stateless; every failure is an {@link ApiException}.
 */
final class WriteChecks {
  private WriteChecks() {}

  /** Defaults, prunes and validates {@code obj} (which replaces {@code old}, null for a create); returns warnings, throws on invalid input. */
  static List<String> admit(ResourceType type, String name, ObjectNode old, ObjectNode obj, WriteOptions options) {
    KindRules.mutate(type, obj);
    List<FieldError> errors = new ArrayList<>(MetadataValidation.validate(obj.path("metadata"),
        "rbac.authorization.k8s.io".equals(type.group())));
    StructuralSchema.Result r = StructuralSchema.apply(obj, type.schema());
    List<String> warnings = new ArrayList<>();
    if (!r.unknownFields().isEmpty()) {
      switch (options.fieldValidation()) {
        case "Strict" -> throw ApiException.badRequest("strict decoding error: "
            + String.join(", ", r.unknownFields().stream().map(f -> "unknown field \"" + f + "\"").toList()));
        case "Warn" -> r.unknownFields().forEach(f -> warnings.add("unknown field \"" + f + "\""));
        default -> { }
      }
    }
    errors.addAll(r.errors());
    if (r.errors().isEmpty()) {
      errors.addAll(KindRules.validate(type, obj));
    }
    if (!errors.isEmpty()) {
      throw ApiException.invalid(type, name.isEmpty() ? null : name, errors);
    }
    if (options.admission() != null) {
      options.admission().admit(type, old, obj);
    }
    return warnings;
  }

  /**
   * The body's kind and apiVersion must be those of the URL: either absent (the URL's are filled
   * in) or the same strings. A kind or apiVersion of another JSON type, or an empty apiVersion,
   * is refused, as the Kubernetes decoder refuses it.
   */
  static void checkTypeMeta(ResourceType type, ObjectNode obj) {
    JsonNode apiVersionNode = obj.get("apiVersion");
    JsonNode kindNode = obj.get("kind");
    if (apiVersionNode != null && (!apiVersionNode.isTextual() || apiVersionNode.asText().isEmpty())) {
      throw ApiException.badRequest("apiVersion must be \"" + type.apiVersion() + "\", not " + apiVersionNode);
    }
    if (kindNode != null && (!kindNode.isTextual() || kindNode.asText().isEmpty())) {
      throw ApiException.badRequest("kind must be \"" + type.kind() + "\", not " + kindNode);
    }
    String apiVersion = apiVersionNode == null ? "" : apiVersionNode.asText();
    String kind = kindNode == null ? "" : kindNode.asText();
    if (!apiVersion.isEmpty() && !apiVersion.equals(type.apiVersion())) {
      throw ApiException.badRequest("the API version in the data (" + apiVersion + ") does not match the expected API version ("
          + type.apiVersion() + ")");
    }
    if (!kind.isEmpty() && !kind.equals(type.kind())) {
      throw ApiException.badRequest("the kind in the data (" + kind + ") does not match the expected kind (" + type.kind() + ")");
    }
    obj.put("apiVersion", type.apiVersion());
    obj.put("kind", type.kind());
  }

  /** The object's metadata, added when absent; metadata that is not an object is refused. */
  static ObjectNode metadata(ObjectNode obj) {
    JsonNode meta = obj.get("metadata");
    if (meta == null || meta.isNull()) {
      return obj.putObject("metadata");
    }
    if (!meta.isObject()) {
      throw ApiException.badRequest("metadata must be an object, not " + meta.getNodeType().name().toLowerCase(Locale.ROOT));
    }
    return (ObjectNode) meta;
  }

  /** The metadata of an object a client sent, checked to decode strictly as ObjectMeta. */
  static ObjectNode requestMetadata(ObjectNode obj) {
    ObjectNode meta = metadata(obj);
    StrictMetadata.check(meta);
    return meta;
  }

  /** Sets the namespace of the URL on {@code meta} (removes it for a cluster-scoped type); another one in the body is refused. */
  static String checkNamespace(ResourceType type, String namespace, ObjectNode meta) {
    if (!type.namespaced()) {
      meta.remove("namespace");
      return null;
    }
    Objects.requireNonNull(namespace, "namespace");
    String given = meta.path("namespace").asText("");
    if (!given.isEmpty() && !given.equals(namespace)) {
      throw ApiException.badRequest("the namespace of the provided object (" + given + ") does not match the namespace sent on the request ("
          + namespace + ")");
    }
    meta.put("namespace", namespace);
    return namespace;
  }

  /** The metadata of a body written to {@code name}'s URL: its kind, name and namespace must be the URL's (a missing name is taken from it). */
  static ObjectNode namedAsTheUrl(ResourceType type, String namespace, String name, ObjectNode body) {
    checkTypeMeta(type, body);
    ObjectNode meta = requestMetadata(body);
    String bodyName = meta.path("name").asText("");
    if (!bodyName.isEmpty() && !bodyName.equals(name)) {
      throw ApiException.badRequest("the name of the object (" + bodyName + ") does not match the name on the URL (" + name + ")");
    }
    meta.put("name", name);
    checkNamespace(type, namespace, meta);
    return meta;
  }

  /** The resourceVersion a write is pinned to, or null when it names none. */
  static Long resourceVersionOf(ObjectNode meta) {
    JsonNode rv = meta.get("resourceVersion");
    if (rv == null || rv.isNull() || rv.asText().isEmpty()) {
      return null;
    }
    try {
      return Long.parseLong(rv.asText());
    } catch (NumberFormatException e) {
      throw ApiException.badRequest("metadata.resourceVersion \"" + rv.asText() + "\" is not a resource version this server issued");
    }
  }

  static boolean contains(JsonNode array, JsonNode value) {
    for (JsonNode v : array) {
      if (v.equals(value)) {
        return true;
      }
    }
    return false;
  }
}
