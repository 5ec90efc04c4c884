package dev.procurator.apiserver.registry;

import com.fasterxml.jackson.databind.JsonNode;
import dev.procurator.api.v1alpha1.SecretSpec;
import dev.procurator.api.v1alpha1.VMSpec;
import dev.procurator.apiserver.resource.FieldError;
import dev.procurator.apiserver.resource.ResourceType;
import java.util.ArrayList;
import java.util.List;

/** Rules of particular kinds that a structural schema cannot say. */
final class KindRules {
  private KindRules() {}

  /**
   * What the server changes in an object of these kinds before it validates it: a Secret's
   * {@code spec.stringData} is merged into {@code spec.data} (base64), overriding keys there, and
   * is never stored, as Kubernetes does.
   */
  static void mutate(ResourceType type, com.fasterxml.jackson.databind.node.ObjectNode object) {
    if (!"procurator.dev".equals(type.group()) || !type.kind().equals("Secret") || !object.path("spec").isObject()) {
      return;
    }
    com.fasterxml.jackson.databind.node.ObjectNode spec = (com.fasterxml.jackson.databind.node.ObjectNode) object.get("spec");
    JsonNode given = spec.get("stringData");
    if (given != null && given.isObject() && given.properties().stream().anyMatch(e -> !SecretSpec.keyProblems(e.getKey()).isEmpty())) {
      return; // left as given, so that validation names the bad key where it was written
    }
    JsonNode plain = spec.remove("stringData");
    if (plain == null || !plain.isObject() || plain.isEmpty()) {
      return;
    }
    com.fasterxml.jackson.databind.node.ObjectNode data = spec.path("data").isObject()
        ? (com.fasterxml.jackson.databind.node.ObjectNode) spec.get("data") : spec.putObject("data");
    plain.properties().forEach(e -> data.put(e.getKey(), java.util.Base64.getEncoder()
        .encodeToString(e.getValue().asText().getBytes(java.nio.charset.StandardCharsets.UTF_8))));
  }

  static List<FieldError> validate(ResourceType type, JsonNode object) {
    if (type.kind().equals("Event")) {
      return event(object, type.group().isEmpty() ? "involvedObject" : "regarding");
    }
    if ("rbac.authorization.k8s.io".equals(type.group())) {
      return rbac(type, object);
    }
    if (!"procurator.dev".equals(type.group())) {
      return List.of();
    }
    return switch (type.kind()) {
      case "VM" -> vm(object.path("spec"), "spec");
      case "Cluster" -> cluster(object);
      case "Secret" -> secret(object.path("spec"));
      case "Build" -> build(object.path("spec"));
      case "BinaryCache" -> dev.procurator.api.v1alpha1.BinaryCacheSpec.problems(object.path("spec").path("url").asText("")).stream()
          .map(p -> FieldError.invalid("spec.url", object.path("spec").path("url"), p)).toList();
      default -> List.of();
    };
  }

  /** RBAC objects as Kubernetes validates them: rules with verbs, bindings with a role and named subjects. */
  private static List<FieldError> rbac(ResourceType type, JsonNode object) {
    List<FieldError> errors = new ArrayList<>();
    if (type.kind().endsWith("Role")) {
      JsonNode rules = object.path("rules");
      for (int i = 0; i < rules.size(); i++) {
        JsonNode r = rules.get(i);
        String at = "rules[" + i + "]";
        if (!r.path("verbs").isArray() || r.path("verbs").isEmpty()) {
          errors.add(FieldError.required(at + ".verbs"));
        }
        boolean urls = r.path("nonResourceURLs").isArray() && !r.path("nonResourceURLs").isEmpty();
        boolean resources = r.path("resources").isArray() && !r.path("resources").isEmpty();
        if (urls && (resources || type.kind().equals("Role"))) {
          errors.add(FieldError.invalid(at + ".nonResourceURLs", r.path("nonResourceURLs"),
              type.kind().equals("Role") ? "namespaced rules cannot apply to non-resource URLs"
                  : "rules cannot apply to both regular resources and non-resource URLs"));
        }
        if (!urls && !resources) {
          errors.add(FieldError.required(at + ".resources"));
        }
        if (resources && !r.path("apiGroups").isArray()) {
          errors.add(FieldError.required(at + ".apiGroups"));
        }
      }
      return errors;
    }
    JsonNode ref = object.path("roleRef");
    String kind = ref.path("kind").asText("");
    if (!ref.isObject()) {
      errors.add(FieldError.required("roleRef"));
    } else if (type.kind().equals("ClusterRoleBinding") ? !kind.equals("ClusterRole") : !List.of("Role", "ClusterRole").contains(kind)) {
      errors.add(FieldError.unsupported("roleRef.kind", ref.path("kind"),
          type.kind().equals("ClusterRoleBinding") ? "\"ClusterRole\"" : "\"Role\", \"ClusterRole\""));
    }
    if (ref.isObject() && ref.path("name").asText("").isEmpty()) {
      errors.add(FieldError.required("roleRef.name"));
    }
    JsonNode subjects = object.path("subjects");
    for (int i = 0; i < subjects.size(); i++) {
      JsonNode s = subjects.get(i);
      if (!List.of("User", "Group", "ServiceAccount").contains(s.path("kind").asText(""))) {
        errors.add(FieldError.unsupported("subjects[" + i + "].kind", s.path("kind"), "\"User\", \"Group\", \"ServiceAccount\""));
      }
      if (s.path("name").asText("").isEmpty()) {
        errors.add(FieldError.required("subjects[" + i + "].name"));
      }
    }
    return errors;
  }

  /** A Build names what to build exactly one way, and at least one attribute. */
  private static List<FieldError> build(JsonNode spec) {
    List<FieldError> errors = new ArrayList<>();
    boolean flake = spec.hasNonNull("flake");
    boolean source = spec.hasNonNull("source");
    if (flake && source) {
      errors.add(FieldError.forbidden("spec.source", "give either flake or source, not both"));
    } else if (!flake && !source) {
      errors.add(FieldError.required("spec.flake"));
    }
    JsonNode attrs = spec.path("attributes");
    if (attrs.isArray() && attrs.isEmpty()) {
      errors.add(FieldError.required("spec.attributes"));
    }
    for (int i = 0; i < attrs.size(); i++) {
      if (!attrs.get(i).asText("").matches("[A-Za-z0-9_'.-]+") || attrs.get(i).asText().startsWith(".")) {
        errors.add(FieldError.invalid("spec.attributes[" + i + "]", attrs.get(i).asText(), "must be a flake attribute path such as packages.x86_64-linux.web"));
      }
    }
    if (spec.path("deploy").isObject() && attrs.size() > 1 && !spec.path("deploy").hasNonNull("attribute")) {
      errors.add(FieldError.required("spec.deploy.attribute"));
    }
    return errors;
  }

  /** The most a Secret may hold, decoded, as in Kubernetes. */
  static final int MAX_SECRET_BYTES = 1 << 20;

  /** A Secret's data values are base64, its keys the names Kubernetes allows for them, and all of it at most 1 MiB. */
  private static List<FieldError> secret(JsonNode spec) {
    List<FieldError> errors = new ArrayList<>();
    long[] total = {0};
    spec.path("data").properties().forEach(e -> total[0] += e.getKey().length() + e.getValue().asText().length() * 3L / 4);
    if (total[0] > MAX_SECRET_BYTES) {
      errors.add(FieldError.tooLong("spec.data", MAX_SECRET_BYTES));
    }
    // stringData is still here only when one of its keys is bad (see mutate)
    spec.path("stringData").properties().forEach(e -> errors.addAll(key("spec.stringData", e.getKey())));
    spec.path("data").properties().forEach(e -> {
      String path = "spec.data[" + e.getKey() + "]";
      errors.addAll(key("spec.data", e.getKey()));
      try {
        java.util.Base64.getDecoder().decode(e.getValue().asText());
      } catch (IllegalArgumentException bad) {
        errors.add(FieldError.invalid(path, "<value>", "must be base64 (put plain text in spec.stringData)"));
      }
    });
    return errors;
  }

  /** A Secret's key as Kubernetes checks a ConfigMap's: each problem an error at {@code map[KEY]}. */
  private static List<FieldError> key(String map, String key) {
    return SecretSpec.keyProblems(key).stream().map(p -> FieldError.invalid(map + "[" + key + "]", key, p)).toList();
  }

  /** The hypervisors whose runner gives node agents a channel to the guest agent, which exec checks need. */
  static final java.util.Set<String> EXEC_HYPERVISORS = java.util.Set.of("qemu");

  private static List<FieldError> vm(JsonNode spec, String path) {
    List<FieldError> errors = new ArrayList<>();
    JsonNode boot = spec.path("boot");
    if (boot.isObject()) {
      boolean closure = boot.hasNonNull("closure") || boot.hasNonNull("closureName");
      boolean kernel = boot.hasNonNull("kernel");
      if (closure && (kernel || boot.hasNonNull("initrd"))) {
        errors.add(FieldError.forbidden(path + ".boot", "give either closure (or closureName), or kernel with initrd and cmdline, not both"));
      } else if (!closure && !kernel) {
        errors.add(FieldError.required(path + ".boot.kernel"));
      }
    }
    JsonNode secrets = spec.path("secrets");
    for (int i = 0; i < secrets.size(); i++) {
      JsonNode mountPath = secrets.get(i).path("mountPath");
      String at = path + ".secrets[" + i + "].mountPath";
      VMSpec.SecretMount.mountPathProblem(mountPath.asText()).ifPresent(p -> errors.add(FieldError.invalid(at, mountPath.asText(), p)));
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
      // no check is accepted that nothing would run: exec checks need the guest agent's channel, which only qemu's runner gives
      String hypervisor = spec.path("hypervisor").asText("qemu");
      if ("exec".equals(type) && !EXEC_HYPERVISORS.contains(hypervisor)) {
        errors.add(FieldError.invalid(p + ".type", type, "exec checks run through the guest agent, which node agents reach only on"
            + " hypervisor qemu (a virtio-serial port), not " + hypervisor + "; use an http or tcp check"));
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

  private static List<FieldError> cluster(JsonNode object) {
    JsonNode spec = object.path("spec");
    List<FieldError> errors = new ArrayList<>();
    // the Cluster's and its templates' names label its VMs, whose names join them with a revision hash
    String name = object.path("metadata").path("name").asText("");
    if (name.length() > 63) {
      errors.add(FieldError.invalid("metadata.name", name, "a Cluster's name labels its VMs: must be no more than 63 characters"));
    }
    JsonNode strategy = spec.path("strategy");
    for (String f : List.of("maxSurge", "maxUnavailable")) {
      JsonNode v = strategy.get(f);
      if (v == null || v.isNull()) {
        continue;
      }
      if (v.isIntegralNumber() ? v.asLong() < 0 : !v.isTextual() || !v.asText().matches("[0-9]+%")) {
        errors.add(FieldError.invalid("spec.strategy." + f, v.asText(), "must be a count of 0 or more, or a percentage such as 25%"));
      } else if (v.isTextual() && Integer.parseInt(v.asText().substring(0, v.asText().length() - 1)) > 100) {
        errors.add(FieldError.invalid("spec.strategy." + f, v.asText(), "a percentage must be at most 100%"));
      }
    }
    String type = strategy.path("type").asText("RollingUpdate");
    JsonNode steps = strategy.path("steps");
    if (steps.isArray() && !steps.isEmpty() && !type.equals("Canary")) {
      errors.add(FieldError.forbidden("spec.strategy.steps", "steps are for strategy type Canary, not " + type));
    }
    for (int i = 0; i < steps.size(); i++) {
      JsonNode st = steps.get(i);
      int kinds = (st.hasNonNull("replicas") ? 1 : 0) + (st.hasNonNull("pause") ? 1 : 0) + (st.hasNonNull("analysis") ? 1 : 0);
      if (kinds != 1) {
        errors.add(FieldError.invalid("spec.strategy.steps[" + i + "]", st.toString(), "a step is exactly one of replicas, pause and analysis"));
      }
    }
    for (String f : List.of("autoPromotion", "scaleDownDelaySeconds")) {
      if (strategy.hasNonNull(f) && !type.equals("BlueGreen")) {
        errors.add(FieldError.forbidden("spec.strategy." + f, f + " is for strategy type BlueGreen, not " + type));
      }
    }
    JsonNode templates = spec.path("templates");
    if (templates.isArray() && templates.isEmpty()) {
      errors.add(FieldError.required("spec.templates"));
    }
    java.util.Set<String> names = new java.util.HashSet<>();
    for (int i = 0; i < templates.size(); i++) {
      String template = templates.get(i).path("name").asText();
      if (!names.add(template)) {
        errors.add(new FieldError("spec.templates[" + i + "].name", "FieldValueDuplicate", "Duplicate value: \"" + template + "\""));
      }
      errors.addAll(vm(templates.get(i).path("spec"), "spec.templates[" + i + "].spec"));
    }
    return errors;
  }
}
