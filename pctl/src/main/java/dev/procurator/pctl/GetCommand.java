package dev.procurator.pctl;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLGenerator;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.atomic.AtomicReference;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;

/** Lists or shows resources as a table, YAML, JSON or names, and optionally follows changes. */
@Command(name = "get", mixinStandardHelpOptions = true, description = "Show resources; -w keeps printing changes.")
final class GetCommand implements Callable<Integer> {
  static final YAMLMapper YAML = YAMLMapper.builder()
      .disable(YAMLGenerator.Feature.WRITE_DOC_START_MARKER)
      .enable(YAMLGenerator.Feature.MINIMIZE_QUOTES)
      .enable(YAMLGenerator.Feature.ALWAYS_QUOTE_NUMBERS_AS_STRINGS)
      .disable(YAMLGenerator.Feature.SPLIT_LINES)
      .build();

  /** apiVersion, kind, metadata, spec, status first, as Kubernetes prints objects. */
  static JsonNode ordered(JsonNode o) {
    if (!o.isObject()) {
      return o;
    }
    ObjectNode out = ApiClient.object();
    for (String k : List.of("apiVersion", "kind", "metadata", "spec", "status")) {
      if (o.has(k)) {
        out.set(k, o.get(k));
      }
    }
    o.properties().forEach(e -> {
      if (!out.has(e.getKey())) {
        out.set(e.getKey(), e.getKey().equals("items") ? orderedItems(e.getValue()) : e.getValue());
      }
    });
    return out;
  }

  private static JsonNode orderedItems(JsonNode items) {
    ArrayNode a = ApiClient.JSON.createArrayNode();
    items.forEach(i -> a.add(ordered(i)));
    return a;
  }

  @ParentCommand Pctl global;

  @Parameters(index = "0", paramLabel = "TYPE", description = "Resource type: vms, vm, nodes, clusters, builds, ...")
  String type;

  @Parameters(index = "1..*", paramLabel = "NAME", description = "Names; all when none are given.")
  List<String> names = new ArrayList<>();

  @Option(names = {"-o", "--output"}, description = "yaml, json, wide, name, jsonpath=TEMPLATE or custom-columns=HEADER:JSONPATH,...")
  String output;

  @Option(names = {"-w", "--watch"}, description = "After listing, print every change.")
  boolean watch;

  @Option(names = {"-l", "--selector"}, description = "Label selector, for example app=web,tier!=db.")
  String selector;

  @Option(names = "--field-selector", description = "Field selector, for example status.phase=Running.")
  String fieldSelector;

  @Option(names = {"-n", "--namespace"}, description = "Namespace (default: the kubeconfig's, else default).")
  String namespace;

  @Option(names = {"-A", "--all-namespaces"}, description = "List across all namespaces.")
  boolean allNamespaces;

  private Output custom;

  @Override
  public Integer call() {
    if (output != null && !List.of("yaml", "json", "wide", "name").contains(output) && !Output.handles(output)) {
      throw new Errors.UserError("unknown output format \"" + output + "\": use yaml, json, wide, name, jsonpath=TEMPLATE or"
          + " custom-columns=HEADER:JSONPATH,...");
    }
    custom = Output.handles(output) ? Output.of(output) : null;
    ApiClient api = ApiClient.from(global);
    ApiClient.Kind kind = api.resolve(type);
    String ns = kind.namespaced() && !allNamespaces ? (namespace != null ? namespace : api.defaultNamespace()) : null;
    boolean table = output == null || output.equals("wide");
    TablePrinter printer = new TablePrinter(System.out, "wide".equals(output), ns == null && kind.namespaced());
    if (!names.isEmpty()) {
      for (String name : names) {
        if (table) {
          printer.printRows(api.call("GET", kind.path(ns, name), null, null, ApiClient.TABLE));
        } else {
          print(api.get(kind.path(ns, name)), kind);
        }
      }
      if (watch) {
        String sel = "metadata.name=" + names.get(0);
        follow(api, kind, ns, sel, null, table, printer);
      }
      return 0;
    }
    Map<String, String> q = ApiClient.params();
    q.put("labelSelector", selector);
    q.put("fieldSelector", fieldSelector);
    JsonNode list = api.call("GET", kind.path(ns, null) + ApiClient.query(q), null, null, table ? ApiClient.TABLE : "application/json");
    String rv = list.path("metadata").path("resourceVersion").asText();
    if (table) {
      int rows = printer.print(list);
      if (rows == 0 && !watch) {
        System.err.println(ns == null ? "No resources found" : "No resources found in " + ns + " namespace.");
      }
    } else if (output.equals("name")) {
      list.path("items").forEach(i -> System.out.println(kind.singular() + "/" + i.path("metadata").path("name").asText()));
    } else if (custom != null) {
      ObjectNode l = ApiClient.object();
      l.put("apiVersion", "v1");
      l.put("kind", "List");
      ArrayNode items = l.putArray("items");
      list.path("items").forEach(items::add);
      custom.list(System.out, l);
    } else {
      ObjectNode l = ApiClient.object();
      l.put("apiVersion", "v1");
      l.put("kind", "List");
      ArrayNode items = l.putArray("items");
      list.path("items").forEach(items::add);
      print(l, kind);
    }
    if (watch) {
      follow(api, kind, ns, fieldSelector, rv, table, printer);
    }
    return 0;
  }

  /** Watches from {@code rv}, printing each change; relists when the server says the revision is gone. */
  private void follow(ApiClient api, ApiClient.Kind kind, String ns, String fields, String rv, boolean table, TablePrinter printer) {
    AtomicReference<String> from = new AtomicReference<>(rv);
    while (true) {
      Map<String, String> q = ApiClient.params();
      q.put("watch", "1");
      q.put("allowWatchBookmarks", "true");
      q.put("labelSelector", selector);
      q.put("fieldSelector", fields);
      q.put("resourceVersion", from.get());
      AtomicReference<Boolean> expired = new AtomicReference<>(false);
      api.stream(kind.path(ns, null) + ApiClient.query(q), table ? ApiClient.TABLE : "application/json", event -> {
        String type = event.path("type").asText();
        JsonNode obj = event.path("object");
        switch (type) {
          case "BOOKMARK" -> from.set(obj.path("metadata").path("resourceVersion").asText());
          case "ERROR" -> {
            if (obj.path("code").asInt() == 410) {
              expired.set(true);
            } else {
              throw new Errors.ServerError("Error from server (" + obj.path("reason").asText() + "): " + obj.path("message").asText());
            }
          }
          default -> {
            String objRv = table ? obj.path("rows").path(0).path("object").path("metadata").path("resourceVersion").asText()
                : obj.path("metadata").path("resourceVersion").asText();
            if (!objRv.isEmpty()) {
              from.set(objRv);
            }
            if (table) {
              printer.printRows(obj);
            } else if ("name".equals(output)) {
              System.out.println(kind.singular() + "/" + obj.path("metadata").path("name").asText());
            } else {
              print(obj, kind);
            }
          }
        }
      });
      if (expired.get()) {
        from.set(null);
      }
    }
  }

  private void print(JsonNode obj, ApiClient.Kind kind) {
    try {
      if (custom != null) {
        custom.object(System.out, obj);
      } else if ("json".equals(output)) {
        System.out.println(ApiClient.JSON.writerWithDefaultPrettyPrinter().writeValueAsString(ordered(obj)));
      } else if ("name".equals(output)) {
        System.out.println(kind.singular() + "/" + obj.path("metadata").path("name").asText());
      } else {
        if (watch) {
          System.out.println("---");
        }
        System.out.print(YAML.writeValueAsString(ordered(obj)));
      }
      System.out.flush();
    } catch (Exception e) {
      throw new Errors.UserError("cannot print: " + e.getMessage());
    }
  }
}
