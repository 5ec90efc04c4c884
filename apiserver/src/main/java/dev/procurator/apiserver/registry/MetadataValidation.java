package dev.procurator.apiserver.registry;

import com.fasterxml.jackson.databind.JsonNode;
import dev.procurator.api.v1alpha1.Names;
import dev.procurator.apiserver.resource.FieldError;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/** Kubernetes' rules for {@code metadata}: names, labels, annotations, finalizers. */
final class MetadataValidation {
  private static final int MAX_ANNOTATIONS_BYTES = 256 * 1024;

  private MetadataValidation() {}

  /** Problems with a namespace name, or none. */
  static List<FieldError> namespace(String field, String ns) {
    if (!Names.isLabel(ns)) {
      return List.of(FieldError.invalid(field, ns, ns.length() > Names.MAX_LABEL_LENGTH ? "must be no more than 63 characters"
          : Names.LABEL_MESSAGE));
    }
    return List.of();
  }

  static List<FieldError> validate(JsonNode meta) {
    return validate(meta, false);
  }

  /**
   * {@code pathSegmentNames}: names need only be a valid path segment (not {@code .} or {@code ..},
   * no {@code /} or {@code %}), as Kubernetes allows for RBAC objects ({@code system:node}).
   */
  static List<FieldError> validate(JsonNode meta, boolean pathSegmentNames) {
    List<FieldError> errors = new ArrayList<>();
    String name = meta.path("name").asText("");
    if (name.isEmpty()) {
      errors.add(FieldError.required("metadata.name"));
    } else if (name.length() > 253) {
      errors.add(FieldError.invalid("metadata.name", name, "must be no more than 253 characters"));
    } else if (pathSegmentNames) {
      if (name.equals(".") || name.equals("..") || name.contains("/") || name.contains("%")) {
        errors.add(FieldError.invalid("metadata.name", name, "may not be '.' or '..' and may not contain '/' or '%'"));
      }
    } else if (!Names.isSubdomain(name)) {
      errors.add(FieldError.invalid("metadata.name", name, Names.SUBDOMAIN_MESSAGE));
    }
    JsonNode labels = meta.path("labels");
    if (!labels.isMissingNode() && !labels.isNull()) {
      if (!labels.isObject()) {
        errors.add(FieldError.typeInvalid("metadata.labels", labels, "object"));
      } else {
        for (Map.Entry<String, JsonNode> e : labels.properties()) {
          qualifiedName("metadata.labels", e.getKey(), errors);
          String v = e.getValue().asText();
          if (!e.getValue().isTextual() || !Names.isLabelValue(v)) {
            errors.add(FieldError.invalid("metadata.labels", e.getValue().isTextual() ? v : e.getValue().toString(),
                "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must"
                    + " start and end with an alphanumeric character, at most 63 characters"));
          }
        }
      }
    }
    JsonNode annotations = meta.path("annotations");
    if (!annotations.isMissingNode() && !annotations.isNull()) {
      if (!annotations.isObject()) {
        errors.add(FieldError.typeInvalid("metadata.annotations", annotations, "object"));
      } else {
        long total = 0;
        for (Map.Entry<String, JsonNode> e : annotations.properties()) {
          qualifiedName("metadata.annotations", e.getKey(), errors);
          if (!e.getValue().isTextual()) {
            errors.add(FieldError.typeInvalid("metadata.annotations[" + e.getKey() + "]", e.getValue(), "string"));
          }
          total += e.getKey().length() + e.getValue().asText().length();
        }
        if (total > MAX_ANNOTATIONS_BYTES) {
          errors.add(FieldError.tooLong("metadata.annotations", MAX_ANNOTATIONS_BYTES));
        }
      }
    }
    JsonNode finalizers = meta.path("finalizers");
    if (!finalizers.isMissingNode() && !finalizers.isNull()) {
      if (!finalizers.isArray()) {
        errors.add(FieldError.typeInvalid("metadata.finalizers", finalizers, "array"));
      } else {
        for (int i = 0; i < finalizers.size(); i++) {
          JsonNode f = finalizers.get(i);
          if (!f.isTextual()) {
            errors.add(FieldError.typeInvalid("metadata.finalizers[" + i + "]", f, "string"));
          } else {
            qualifiedName("metadata.finalizers[" + i + "]", f.asText(), errors);
          }
        }
      }
    }
    ownerReferences(meta.path("ownerReferences"), errors);
    return errors;
  }

  /** As Kubernetes checks them: each names an owner completely, and at most one is the controller. */
  private static void ownerReferences(JsonNode refs, List<FieldError> errors) {
    if (!refs.isArray()) {
      return; // absent; its type was checked when it was decoded
    }
    int controllers = 0;
    for (int i = 0; i < refs.size(); i++) {
      JsonNode r = refs.get(i);
      String p = "metadata.ownerReferences[" + i + "]";
      String apiVersion = r.path("apiVersion").asText("");
      if (apiVersion.isEmpty()) {
        errors.add(FieldError.required(p + ".apiVersion"));
      } else if (apiVersion.endsWith("/") || apiVersion.startsWith("/") || apiVersion.split("/").length > 2) {
        errors.add(FieldError.invalid(p + ".apiVersion", apiVersion, "must be GROUP/VERSION or VERSION"));
      }
      for (String f : List.of("kind", "name", "uid")) {
        if (r.path(f).asText("").isEmpty()) {
          errors.add(FieldError.required(p + "." + f));
        }
      }
      if (!r.path("name").asText("").isEmpty() && !Names.isSubdomain(r.path("name").asText())) {
        errors.add(FieldError.invalid(p + ".name", r.path("name").asText(), Names.SUBDOMAIN_MESSAGE));
      }
      if (r.path("controller").asBoolean(false)) {
        controllers++;
      }
    }
    if (controllers > 1) {
      errors.add(FieldError.invalid("metadata.ownerReferences", refs.toString(), "Only one reference can have Controller set to true"));
    }
  }

  /** {@code [prefix/]name}: prefix a DNS subdomain, name at most 63 characters. */
  private static void qualifiedName(String field, String key, List<FieldError> errors) {
    int slash = key.indexOf('/');
    String prefix = slash < 0 ? null : key.substring(0, slash);
    String name = slash < 0 ? key : key.substring(slash + 1);
    if (prefix != null && !Names.isSubdomain(prefix)) {
      errors.add(FieldError.invalid(field, key, "prefix part " + Names.SUBDOMAIN_MESSAGE));
    }
    if (name.isEmpty() || name.length() > Names.MAX_LABEL_LENGTH || !Names.QUALIFIED_NAME.matcher(name).matches()) {
      errors.add(FieldError.invalid(field, key, "name part must consist of alphanumeric characters, '-', '_' or '.',"
          + " and must start and end with an alphanumeric character, at most 63 characters"));
    }
  }
}
