package dev.procurator.pctl;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParentCommand;

/**
 * Creates or updates objects from manifests. Like {@code kubectl apply}, it remembers what it
 * applied in the {@code kubectl.kubernetes.io/last-applied-configuration} annotation, so fields
 * removed from a manifest are removed from the object, and the two tools can take turns.
 */
@Command(name = "apply", mixinStandardHelpOptions = true, description = "Create or update resources from YAML or JSON manifests.")
final class ApplyCommand implements Callable<Integer> {
  static final String LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration";

  @ParentCommand Pctl global;

  @Option(names = {"-f", "--filename"}, required = true, description = "Files, directories, or - for standard input.")
  List<String> files;

  @Option(names = {"-n", "--namespace"}, description = "Namespace for manifests that name none.")
  String namespace;

  @Option(names = {"-o", "--output"}, description = "name: print only TYPE/NAME of each object.")
  String output;

  @Override
  public Integer call() {
    if (output != null && !output.equals("name")) {
      throw new Errors.UserError("apply prints -o name only, not \"" + output + "\"");
    }
    List<Manifests.Doc> docs = Manifests.read(files, System.in);
    ApiClient api = ApiClient.from(global);
    int failures = 0;
    for (Manifests.Doc doc : docs) {
      try {
        String done = apply(api, doc.object());
        System.out.println("name".equals(output) ? done.substring(0, done.lastIndexOf(' ')) : done);
      } catch (Errors.ServerError | Errors.UserError e) {
        System.err.println(Errors.describe(e) + " (" + doc.source() + ")");
        failures++;
      }
    }
    System.out.flush();
    return failures == 0 ? 0 : 1;
  }

  String apply(ApiClient api, ObjectNode manifest) {
    String apiVersion = manifest.path("apiVersion").asText();
    String kindName = manifest.path("kind").asText();
    ApiClient.Kind kind = api.byKind(apiVersion, kindName).orElseThrow(() -> new Errors.UserError(
        "resource mapping not found for kind \"" + kindName + "\" in version \"" + apiVersion + "\": is its API served?"));
    ObjectNode desired = manifest.deepCopy();
    ObjectNode meta = (ObjectNode) desired.get("metadata");
    for (String f : List.of("resourceVersion", "uid", "creationTimestamp", "generation", "managedFields", "selfLink")) {
      meta.remove(f);
    }
    desired.remove("status");
    String ns = null;
    if (kind.namespaced()) {
      ns = meta.path("namespace").asText("");
      if (ns.isEmpty()) {
        ns = namespace != null ? namespace : api.defaultNamespace();
      } else if (namespace != null && !namespace.equals(ns)) {
        throw new Errors.UserError("the namespace from the manifest (" + ns + ") does not match --namespace " + namespace);
      }
      meta.put("namespace", ns);
    } else {
      meta.remove("namespace");
    }
    String name = meta.path("name").asText();
    String label = kind.singular() + "/" + name;
    ObjectNode lastApplied = desired.deepCopy();
    JsonNode annotations = lastApplied.path("metadata").path("annotations");
    if (annotations instanceof ObjectNode a) {
      a.remove(LAST_APPLIED);
      if (a.isEmpty()) {
        ((ObjectNode) lastApplied.get("metadata")).remove("annotations");
      }
    }
    String lastAppliedJson = lastApplied.toString();
    ObjectNode desiredAnnotations = meta.has("annotations") && meta.get("annotations").isObject()
        ? (ObjectNode) meta.get("annotations") : meta.putObject("annotations");
    desiredAnnotations.put(LAST_APPLIED, lastAppliedJson);

    ApiClient.Response existing = api.send("GET", kind.path(ns, name), null, null, "application/json");
    if (existing.code() == 404 && !name.isEmpty()) {
      api.call("POST", kind.path(ns, null) + "?fieldValidation=Strict", "application/json",
          desired.toString().getBytes(StandardCharsets.UTF_8), "application/json");
      return label + " created";
    }
    if (existing.code() / 100 != 2) {
      throw ApiClient.serverError(existing);
    }
    JsonNode live = existing.json();
    String before = live.path("metadata").path("resourceVersion").asText();
    JsonNode previous = parseLastApplied(live.path("metadata").path("annotations").path(LAST_APPLIED).asText(null));
    ObjectNode patch = mergePatch(previous, desired);
    JsonNode result = api.call("PATCH", kind.path(ns, name) + "?fieldValidation=Strict", "application/merge-patch+json",
        patch.toString().getBytes(StandardCharsets.UTF_8), "application/json");
    String after = result.path("metadata").path("resourceVersion").asText();
    return label + (before.equals(after) ? " unchanged" : " configured");
  }

  private static JsonNode parseLastApplied(String json) {
    if (json == null || json.isEmpty()) {
      return null;
    }
    try {
      return ApiClient.JSON.readTree(json);
    } catch (Exception e) {
      return null;
    }
  }

  /** The manifest, plus a null for every field the previous apply set that the manifest dropped. */
  static ObjectNode mergePatch(JsonNode previous, ObjectNode desired) {
    ObjectNode patch = desired.deepCopy();
    if (previous != null && previous.isObject()) {
      addRemovals(previous, patch);
    }
    return patch;
  }

  private static void addRemovals(JsonNode previous, ObjectNode patch) {
    for (Map.Entry<String, JsonNode> e : previous.properties()) {
      JsonNode now = patch.get(e.getKey());
      if (now == null) {
        patch.putNull(e.getKey());
      } else if (now.isObject() && e.getValue().isObject()) {
        addRemovals(e.getValue(), (ObjectNode) now);
      }
    }
  }
}
