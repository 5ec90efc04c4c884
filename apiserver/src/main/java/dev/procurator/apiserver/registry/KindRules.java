package dev.procurator.apiserver.registry;

import com.fasterxml.jackson.databind.JsonNode;
import dev.procurator.apiserver.resource.FieldError;
import dev.procurator.apiserver.resource.ResourceType;
import java.util.ArrayList;
import java.util.List;

/** Rules of particular kinds that a structural schema cannot say. */
final class KindRules {
  private KindRules() {}

  static List<FieldError> validate(ResourceType type, JsonNode object) {
    if (type.kind().equals("Event")) {
      return event(object, type.group().isEmpty() ? "involvedObject" : "regarding");
    }
    if (!"procurator.dev".equals(type.group())) {
      return List.of();
    }
    return switch (type.kind()) {
      case "VM" -> vm(object.path("spec"), "spec");
      case "Cluster" -> cluster(object.path("spec"));
      default -> List.of();
    };
  }

  private static List<FieldError> vm(JsonNode spec, String path) {
    List<FieldError> errors = new ArrayList<>();
    JsonNode boot = spec.path("boot");
    if (boot.isObject()) {
      boolean closure = boot.hasNonNull("closure");
      boolean kernel = boot.hasNonNull("kernel");
      if (closure && (kernel || boot.hasNonNull("initrd"))) {
        errors.add(FieldError.forbidden(path + ".boot", "give either closure, or kernel with initrd and cmdline, not both"));
      } else if (!closure && !kernel) {
        errors.add(FieldError.required(path + ".boot.kernel"));
      }
    }
    JsonNode checks = spec.path("healthChecks");
    for (int i = 0; i < checks.size(); i++) {
      JsonNode c = checks.get(i);
      String type = c.path("type").asText();
      String p = path + ".healthChecks[" + i + "]";
      if (("http".equals(type) || "tcp".equals(type)) && !c.hasNonNull("port")) {
        errors.add(FieldError.required(p + ".port"));
      }
      if ("exec".equals(type) && (!c.path("command").isArray() || c.path("command").isEmpty())) {
        errors.add(FieldError.required(p + ".command"));
      }
    }
    return errors;
  }

  /** An Event must say what it is about and why. */
  private static List<FieldError> event(JsonNode e, String subject) {
    List<FieldError> errors = new ArrayList<>();
    JsonNode ref = e.path(subject);
    if (!ref.isObject() || ref.path("name").asText("").isEmpty()) {
      errors.add(FieldError.required(subject + ".name"));
    }
    if (e.has("type") && !List.of("Normal", "Warning").contains(e.path("type").asText())) {
      errors.add(FieldError.unsupported("type", e.path("type"), "\"Normal\", \"Warning\""));
    }
    return errors;
  }

  private static List<FieldError> cluster(JsonNode spec) {
    List<FieldError> errors = new ArrayList<>();
    JsonNode templates = spec.path("templates");
    java.util.Set<String> names = new java.util.HashSet<>();
    for (int i = 0; i < templates.size(); i++) {
      String name = templates.get(i).path("name").asText();
      if (!names.add(name)) {
        errors.add(new FieldError("spec.templates[" + i + "].name", "FieldValueDuplicate", "Duplicate value: \"" + name + "\""));
      }
      errors.addAll(vm(templates.get(i).path("spec"), "spec.templates[" + i + "].spec"));
    }
    return errors;
  }
}
