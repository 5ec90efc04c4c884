package dev.procurator.apiserver.rest;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.procurator.apiserver.registry.Json;
import dev.procurator.apiserver.resource.ResourceRegistry;
import dev.procurator.apiserver.resource.ResourceType;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Locale;

/**
 * The discovery and OpenAPI documents kubectl and client libraries read before they act:
 * {@code /version}, {@code /api}, {@code /apis}, group and group-version resource lists, and
 * OpenAPI v2 and v3. Built once from the registry.
 */
final class Discovery {
  private static final List<String> VERBS = List.of("create", "delete", "deletecollection", "get", "list", "patch", "update", "watch");

  private final ResourceRegistry registry;
  private final String version;
  private final Map<String, ObjectNode> openApiV3 = new LinkedHashMap<>();
  private final Map<String, String> openApiV3Hash = new LinkedHashMap<>();

  Discovery(ResourceRegistry registry, String version) {
    this.registry = registry;
    this.version = version;
    registry.groupVersions().forEach((group, versions) -> versions.forEach(v -> {
      String gv = group.isEmpty() ? v : group + "/" + v;
      ObjectNode doc = openApiV3(group, v);
      openApiV3.put(gv, doc);
      openApiV3Hash.put(gv, sha256(Json.bytes(doc)));
    }));
  }

  ObjectNode version() {
    ObjectNode v = Json.object();
    v.put("major", "1");
    v.put("minor", "32");
    v.put("gitVersion", "v1.32.0+procurator-" + version);
    v.put("gitCommit", "");
    v.put("gitTreeState", "clean");
    v.put("buildDate", "");
    v.put("goVersion", "java" + Runtime.version().feature());
    v.put("compiler", "javac");
    v.put("platform", System.getProperty("os.name").toLowerCase(Locale.ROOT) + "/" + System.getProperty("os.arch"));
    return v;
  }

  ObjectNode coreVersions(String serverAddress) {
    ObjectNode o = Json.object();
    o.put("kind", "APIVersions");
    o.putArray("versions").add("v1");
    o.putArray("serverAddressByClientCIDRs").addObject().put("clientCIDR", "0.0.0.0/0").put("serverAddress", serverAddress);
    return o;
  }

  ObjectNode coreResources() {
    return resources("", "v1");
  }

  ObjectNode groups() {
    ObjectNode o = Json.object();
    o.put("kind", "APIGroupList");
    o.put("apiVersion", "v1");
    ArrayNode groups = o.putArray("groups");
    registry.groupVersions().forEach((g, vs) -> {
      if (!g.isEmpty()) {
        groups.add(group(g, vs));
      }
    });
    return o;
  }

  ObjectNode group(String name) {
    List<String> versions = registry.groupVersions().get(name);
    if (versions == null) {
      return null;
    }
    ObjectNode g = group(name, versions);
    g.put("kind", "APIGroup");
    g.put("apiVersion", "v1");
    return g;
  }

  private static ObjectNode group(String name, List<String> versions) {
    ObjectNode g = Json.object();
    g.put("name", name);
    ArrayNode vs = g.putArray("versions");
    for (String v : versions) {
      vs.addObject().put("groupVersion", name + "/" + v).put("version", v);
    }
    g.putObject("preferredVersion").put("groupVersion", name + "/" + versions.get(0)).put("version", versions.get(0));
    return g;
  }

  ObjectNode resources(String group, String version) {
    List<ResourceType> types = registry.all().stream().filter(t -> t.group().equals(group) && t.version().equals(version)).toList();
    if (types.isEmpty()) {
      return null;
    }
    ObjectNode o = Json.object();
    o.put("kind", "APIResourceList");
    o.put("apiVersion", "v1");
    o.put("groupVersion", group.isEmpty() ? version : group + "/" + version);
    ArrayNode rs = o.putArray("resources");
    for (ResourceType t : types) {
      ObjectNode r = rs.addObject();
      r.put("name", t.plural());
      r.put("singularName", t.singular());
      r.put("namespaced", t.namespaced());
      r.put("kind", t.kind());
      ArrayNode verbs = r.putArray("verbs");
      VERBS.forEach(verbs::add);
      if (!t.shortNames().isEmpty()) {
        ArrayNode sn = r.putArray("shortNames");
        t.shortNames().forEach(sn::add);
      }
      if (t.group().equals("procurator.dev")) {
        r.putArray("categories").add("all").add("procurator");
      }
      r.put("storageVersionHash", sha256((t.group() + "/" + t.version() + "/" + t.kind()).getBytes(StandardCharsets.UTF_8)).substring(0, 12));
      if (t.statusSubresource()) {
        ObjectNode s = rs.addObject();
        s.put("name", t.plural() + "/status");
        s.put("singularName", "");
        s.put("namespaced", t.namespaced());
        s.put("kind", t.kind());
        s.putArray("verbs").add("get").add("patch").add("update");
      }
    }
    return o;
  }

  /** The OpenAPI v3 index: one document per group-version, addressed with a content hash. */
  ObjectNode openApiV3Index() {
    ObjectNode o = Json.object();
    ObjectNode paths = o.putObject("paths");
    openApiV3.keySet().forEach(gv -> {
      String prefix = gv.contains("/") ? "apis/" : "api/";
      paths.putObject(prefix + gv).put("serverRelativeURL", "/openapi/v3/" + prefix + gv + "?hash=" + openApiV3Hash.get(gv));
    });
    return o;
  }

  ObjectNode openApiV3(String groupVersion) {
    return openApiV3.get(groupVersion);
  }

  private ObjectNode openApiV3(String group, String version) {
    ObjectNode doc = Json.object();
    doc.put("openapi", "3.0.0");
    doc.putObject("info").put("title", "Procurator").put("version", version);
    ObjectNode paths = doc.putObject("paths");
    ObjectNode schemas = doc.putObject("components").putObject("schemas");
    for (ResourceType t : registry.all()) {
      if (!t.group().equals(group) || !t.version().equals(version)) {
        continue;
      }
      String defName = definitionName(t);
      ObjectNode schema = t.schema() == null ? Json.object().put("type", "object") : (ObjectNode) t.schema().deepCopy();
      ObjectNode props = schema.has("properties") ? (ObjectNode) schema.get("properties") : schema.putObject("properties");
      props.putObject("apiVersion").put("type", "string");
      props.putObject("kind").put("type", "string");
      props.putObject("metadata").put("type", "object").put("x-kubernetes-preserve-unknown-fields", true);
      schema.putArray("x-kubernetes-group-version-kind").add(gvk(t));
      schemas.set(defName, schema);
      ObjectNode ref = Json.object().put("$ref", "#/components/schemas/" + defName);
      String base = (group.isEmpty() ? "/api/" : "/apis/" + group + "/") + version
          + (t.namespaced() ? "/namespaces/{namespace}/" : "/") + t.plural();
      ObjectNode collection = paths.putObject(base);
      collection.set("get", operation(t, "list", ref));
      collection.set("post", operation(t, "post", ref));
      ObjectNode item = paths.putObject(base + "/{name}");
      item.set("get", operation(t, "get", ref));
      item.set("put", operation(t, "put", ref));
      item.set("patch", operation(t, "patch", ref));
      item.set("delete", operation(t, "delete", ref));
    }
    return doc;
  }

  private static ObjectNode operation(ResourceType t, String action, JsonNode ref) {
    ObjectNode op = Json.object();
    op.put("operationId", action + t.kind());
    op.put("x-kubernetes-action", action);
    op.set("x-kubernetes-group-version-kind", gvk(t));
    ArrayNode params = op.putArray("parameters");
    if (List.of("post", "put", "patch").contains(action)) {
      params.addObject().put("name", "fieldValidation").put("in", "query").putObject("schema").put("type", "string");
      params.addObject().put("name", "dryRun").put("in", "query").putObject("schema").put("type", "string");
      op.putObject("requestBody").putObject("content").putObject("application/json").set("schema", ref);
    }
    op.putObject("responses").putObject("200").put("description", "OK")
        .putObject("content").putObject("application/json").set("schema", ref);
    return op;
  }

  private static ObjectNode gvk(ResourceType t) {
    return Json.object().put("group", t.group()).put("version", t.version()).put("kind", t.kind());
  }

  private static String definitionName(ResourceType t) {
    String[] parts = t.group().split("\\.");
    StringBuilder sb = new StringBuilder(t.group().isEmpty() ? "io.k8s.api.core." : "");
    for (int i = t.group().isEmpty() ? -1 : parts.length - 1; i >= 0; i--) {
      sb.append(parts[i]).append('.');
    }
    return sb + t.version() + "." + t.kind();
  }

  /** A Swagger 2.0 document (JSON) with the same definitions, for clients that read v2. */
  ObjectNode openApiV2() {
    ObjectNode doc = Json.object();
    doc.put("swagger", "2.0");
    doc.putObject("info").put("title", "Procurator").put("version", version);
    ObjectNode paths = doc.putObject("paths");
    ObjectNode defs = doc.putObject("definitions");
    for (ObjectNode v3 : openApiV3.values()) {
      v3.path("components").path("schemas").properties().forEach(e -> defs.set(e.getKey(), e.getValue()));
      v3.path("paths").properties().forEach(e -> {
        ObjectNode p = e.getValue().deepCopy();
        p.properties().forEach(op -> {
          ObjectNode o = (ObjectNode) op.getValue();
          o.remove(List.of("requestBody", "responses"));
          ArrayNode params = (ArrayNode) o.get("parameters");
          for (JsonNode param : params) {
            ((ObjectNode) param).remove("schema");
            ((ObjectNode) param).put("type", "string");
          }
          o.putObject("responses").putObject("200").put("description", "OK");
        });
        paths.set(e.getKey(), p);
      });
    }
    return doc;
  }

  private static String sha256(byte[] data) {
    try {
      return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(data)).toUpperCase(Locale.ROOT);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }
}
