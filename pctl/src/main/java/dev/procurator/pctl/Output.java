package dev.procurator.pctl;

import com.fasterxml.jackson.databind.JsonNode;
import dev.procurator.api.text.JsonPath;
import dev.procurator.api.text.JsonPathTemplate;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.List;

/**
 * The {@code -o} formats that print objects without the server's table: {@code name},
 * {@code jsonpath=TEMPLATE} and {@code custom-columns=HEADER:PATH,...}, as kubectl prints them.
 */
final class Output {
  /** Formats with a value after '='. */
  private static final String JSONPATH = "jsonpath=";
  private static final String CUSTOM_COLUMNS = "custom-columns=";

  private final JsonPathTemplate template;
  private final List<String> headers;
  private final List<JsonPath> columns;
  private TablePrinter printer;

  private Output(JsonPathTemplate template, List<String> headers, List<JsonPath> columns) {
    this.template = template;
    this.headers = headers;
    this.columns = columns;
  }

  /** Whether {@code spec} is one of these formats. */
  static boolean handles(String spec) {
    return spec != null && (spec.startsWith(JSONPATH) || spec.startsWith(CUSTOM_COLUMNS));
  }

  /** The format {@code spec} names; a malformed one is a user error naming what is wrong. */
  static Output of(String spec) {
    try {
      if (spec.startsWith(JSONPATH)) {
        return new Output(JsonPathTemplate.parse(spec.substring(JSONPATH.length())), null, null);
      }
      List<String> headers = new ArrayList<>();
      List<JsonPath> paths = new ArrayList<>();
      for (String col : spec.substring(CUSTOM_COLUMNS.length()).split(",")) {
        int colon = col.indexOf(':');
        if (colon <= 0 || colon == col.length() - 1) {
          throw new Errors.UserError("custom-columns takes HEADER:JSONPATH pairs separated by commas, not \"" + col + "\"");
        }
        headers.add(col.substring(0, colon));
        paths.add(JsonPath.compile(col.substring(colon + 1)));
      }
      return new Output(null, headers, paths);
    } catch (IllegalArgumentException e) {
      throw new Errors.UserError("bad output format: " + e.getMessage());
    }
  }

  /** Prints one object (the template applies to it; a column row for it). */
  void object(PrintStream out, JsonNode obj) {
    if (template != null) {
      out.print(template.render(obj));
      out.flush();
      return;
    }
    rows(out, List.of(obj));
  }

  /** Prints a list: the template applies to the whole List, as kubectl applies it; columns print a row per item. */
  void list(PrintStream out, JsonNode list) {
    if (template != null) {
      out.print(template.render(list));
      out.flush();
      return;
    }
    List<JsonNode> items = new ArrayList<>();
    list.path("items").forEach(items::add);
    rows(out, items);
  }

  private void rows(PrintStream out, List<JsonNode> items) {
    List<List<String>> cells = new ArrayList<>();
    for (JsonNode item : items) {
      List<String> row = new ArrayList<>();
      for (JsonPath p : columns) {
        List<JsonNode> values = p.evaluate(item);
        row.add(values.isEmpty() ? "<none>" : String.join(",", values.stream().map(JsonPathTemplate::text).toList()));
      }
      cells.add(row);
    }
    if (printer == null) {
      printer = new TablePrinter(out, false, false);
    }
    printer.printCells(headers, cells);
  }
}
