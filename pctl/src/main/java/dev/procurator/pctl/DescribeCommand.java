package dev.procurator.pctl;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;

/** Shows one object for a person: its metadata, spec and status, and its conditions as a table. */
@Command(name = "describe", mixinStandardHelpOptions = true, description = "Show one resource in detail.")
final class DescribeCommand implements Callable<Integer> {
  @ParentCommand Pctl global;

  @Parameters(index = "0", paramLabel = "TYPE") String type;

  @Parameters(index = "1..*", paramLabel = "NAME") List<String> names = new ArrayList<>();

  @Option(names = {"-n", "--namespace"}) String namespace;

  @Override
  public Integer call() throws Exception {
    ApiClient api = ApiClient.from(global);
    ApiClient.Kind kind = api.resolve(type);
    String ns = kind.namespaced() ? (namespace != null ? namespace : api.defaultNamespace()) : null;
    List<String> targets = names;
    if (targets.isEmpty()) {
      targets = new ArrayList<>();
      for (JsonNode i : api.get(kind.path(ns, null)).path("items")) {
        targets.add(i.path("metadata").path("name").asText());
      }
    }
    boolean first = true;
    for (String name : targets) {
      if (!first) {
        System.out.println();
      }
      first = false;
      describe(api.get(kind.path(ns, name)));
    }
    return 0;
  }

  private static void describe(JsonNode o) throws Exception {
    JsonNode m = o.path("metadata");
    row("Name", m.path("name").asText());
    if (m.has("namespace")) {
      row("Namespace", m.path("namespace").asText());
    }
    row("Labels", pairs(m.path("labels")));
    row("Annotations", pairs(m.path("annotations")));
    row("API Version", o.path("apiVersion").asText());
    row("Kind", o.path("kind").asText());
    row("Created", m.path("creationTimestamp").asText());
    row("Generation", m.path("generation").asText());
    row("Resource Version", m.path("resourceVersion").asText());
    if (m.hasNonNull("deletionTimestamp")) {
      row("Deleting Since", m.path("deletionTimestamp").asText());
      row("Finalizers", m.path("finalizers").toString());
    }
    for (String section : List.of("spec", "status")) {
      if (o.has(section)) {
        System.out.println(Character.toUpperCase(section.charAt(0)) + section.substring(1) + ":");
        JsonNode body = o.path(section).deepCopy();
        if (body instanceof com.fasterxml.jackson.databind.node.ObjectNode b) {
          b.remove("conditions");
        }
        for (String line : GetCommand.YAML.writeValueAsString(body).split("\n")) {
          System.out.println("  " + line);
        }
      }
    }
    JsonNode conditions = o.path("status").path("conditions");
    if (conditions.isArray() && !conditions.isEmpty()) {
      System.out.println("Conditions:");
      System.out.printf("  %-14s %-7s %-22s %-24s %s%n", "Type", "Status", "Last Transition", "Reason", "Message");
      for (JsonNode c : conditions) {
        System.out.printf("  %-14s %-7s %-22s %-24s %s%n", c.path("type").asText(), c.path("status").asText(),
            c.path("lastTransitionTime").asText(), c.path("reason").asText(), c.path("message").asText());
      }
    }
  }

  private static void row(String key, String value) {
    System.out.printf("%-18s%s%n", key + ":", value.isEmpty() ? "<none>" : value);
  }

  private static String pairs(JsonNode map) {
    if (!map.isObject() || map.isEmpty()) {
      return "";
    }
    List<String> out = new ArrayList<>();
    for (Map.Entry<String, JsonNode> e : map.properties()) {
      String v = e.getValue().asText();
      out.add(e.getKey() + "=" + (v.length() > 60 ? v.substring(0, 57) + "..." : v));
    }
    return String.join("\n" + " ".repeat(18), out);
  }
}
