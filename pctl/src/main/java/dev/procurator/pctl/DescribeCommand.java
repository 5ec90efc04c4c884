package dev.procurator.pctl;

import com.fasterxml.jackson.databind.JsonNode;
import dev.procurator.api.text.Ages;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;
import java.util.Locale;

/**
 * Shows one object for a person, as kubectl describe does: its metadata, spec and status, its
 * conditions as a table, and the Events about it, oldest first, with repeats counted.
 */
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
      JsonNode o = api.get(kind.path(ns, name));
      describe(o);
      events(api, o);
    }
    return 0;
  }

  /** The Events about {@code o}, selected by its kind, name and uid, as kubectl describe prints them. */
  private static void events(ApiClient api, JsonNode o) {
    JsonNode m = o.path("metadata");
    String selector = "involvedObject.kind=" + o.path("kind").asText() + ",involvedObject.name=" + m.path("name").asText()
        + (m.hasNonNull("uid") ? ",involvedObject.uid=" + m.path("uid").asText() : "");
    String where = m.hasNonNull("namespace") ? "/api/v1/namespaces/" + m.path("namespace").asText() + "/events" : "/api/v1/events";
    Map<String, String> q = ApiClient.params();
    q.put("fieldSelector", selector);
    JsonNode list;
    try {
      list = api.get(where + ApiClient.query(q));
    } catch (Errors.ServerError e) {
      System.out.println("Events:           <unavailable: " + e.getMessage() + ">");
      return;
    }
    List<JsonNode> items = new ArrayList<>();
    list.path("items").forEach(items::add);
    if (items.isEmpty()) {
      System.out.println("Events:           <none>");
      return;
    }
    items.sort(java.util.Comparator.comparing(e -> lastSeen(e)));
    Instant now = Instant.now();
    List<String[]> rows = new ArrayList<>();
    rows.add(new String[] {"Type", "Reason", "Age", "From", "Message"});
    rows.add(new String[] {"----", "------", "----", "----", "-------"});
    for (JsonNode e : items) {
      int count = e.path("count").asInt(1);
      String age = age(lastSeen(e), now);
      if (count > 1) {
        age += " (x" + count + " over " + age(firstSeen(e), now) + ")";
      }
      String from = e.path("source").path("component").asText(e.path("reportingComponent").asText(""));
      rows.add(new String[] {e.path("type").asText(), e.path("reason").asText(), age, from, e.path("message").asText()});
    }
    int[] widths = new int[4];
    for (String[] r : rows) {
      for (int i = 0; i < 4; i++) {
        widths[i] = Math.max(widths[i], r[i].length());
      }
    }
    System.out.println("Events:");
    for (String[] r : rows) {
      StringBuilder line = new StringBuilder("  ");
      for (int i = 0; i < 4; i++) {
        line.append(r[i]).append(" ".repeat(widths[i] - r[i].length() + 2));
      }
      System.out.println(line.append(r[4]).toString().stripTrailing());
    }
  }

  private static Instant lastSeen(JsonNode e) {
    return time(e.path("lastTimestamp").asText(e.path("eventTime").asText(e.path("metadata").path("creationTimestamp").asText(""))));
  }

  private static Instant firstSeen(JsonNode e) {
    return time(e.path("firstTimestamp").asText(e.path("eventTime").asText(e.path("metadata").path("creationTimestamp").asText(""))));
  }

  private static Instant time(String t) {
    try {
      return Instant.parse(t);
    } catch (java.time.format.DateTimeParseException ex) {
      return Instant.EPOCH;
    }
  }

  static String age(Instant then, Instant now) {
    return Ages.human(java.time.Duration.between(then, now));
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
      System.out.printf(Locale.ROOT, "  %-14s %-7s %-22s %-24s %s%n", "Type", "Status", "Last Transition", "Reason", "Message");
      for (JsonNode c : conditions) {
        System.out.printf(Locale.ROOT, "  %-14s %-7s %-22s %-24s %s%n", c.path("type").asText(), c.path("status").asText(),
            c.path("lastTransitionTime").asText(), c.path("reason").asText(), c.path("message").asText());
      }
    }
  }

  private static void row(String key, String value) {
    System.out.printf(Locale.ROOT, "%-18s%s%n", key + ":", value.isEmpty() ? "<none>" : value);
  }

  private static String pairs(JsonNode map) {
    if (!map.isObject() || map.isEmpty()) {
      return "";
    }
    List<String> out = new ArrayList<>();
    // sorted by key, as kubectl prints them: the server keeps the order each writer sent
    for (Map.Entry<String, JsonNode> e : map.properties().stream().sorted(Map.Entry.comparingByKey()).toList()) {
      String v = e.getValue().asText();
      out.add(e.getKey() + "=" + (v.length() > 60 ? v.substring(0, 57) + "..." : v));
    }
    return String.join("\n" + " ".repeat(18), out);
  }
}
