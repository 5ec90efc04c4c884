package dev.procurator.pctl;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Prints a server-side Table the way kubectl does: upper-case headers, columns three spaces
 * apart, {@code <none>} for empty cells; wide output adds the columns of priority above zero.
 * Rows printed later (watch events) keep the widths of the first table.
 */
final class TablePrinter {
  private final PrintStream out;
  private final boolean wide;
  private final boolean withNamespace;
  private List<Integer> visible;
  private int[] widths;
  private boolean headerShown;

  TablePrinter(PrintStream out, boolean wide, boolean withNamespace) {
    this.out = out;
    this.wide = wide;
    this.withNamespace = withNamespace;
  }

  /** Prints the header and rows of {@code table}; returns the number of rows. */
  int print(JsonNode table) {
    List<List<String>> rows = rows(table);
    List<String> header = header(table);
    widths = new int[header.size()];
    measure(header);
    rows.forEach(this::measure);
    if (rows.isEmpty()) {
      return 0; // kubectl prints no header over nothing; the first row to come prints it
    }
    line(header);
    headerShown = true;
    rows.forEach(this::line);
    out.flush();
    return rows.size();
  }

  /**
   * Prints the rows of a one-row Table from a watch event, with the header first if none was
   * printed yet (the first list was empty).
   */
  void printRows(JsonNode table) {
    if (widths == null) {
      print(table);
      return;
    }
    List<List<String>> rows = rows(table);
    if (!headerShown) {
      List<String> header = header(table);
      rows.forEach(this::measure);
      line(header);
      headerShown = true;
    }
    rows.forEach(this::line);
    out.flush();
  }

  /** Prints cells made by the caller (custom columns): the header as given, once, then the rows, aligned as tables are. */
  void printCells(List<String> header, List<List<String>> rows) {
    boolean first = widths == null;
    if (first) {
      widths = new int[header.size()];
      measure(header);
    }
    rows.forEach(this::measure);
    if (first) {
      line(header);
      headerShown = true;
    }
    rows.forEach(this::line);
    out.flush();
  }

  private List<String> header(JsonNode table) {
    visible = new ArrayList<>();
    List<String> header = new ArrayList<>();
    if (withNamespace) {
      header.add("NAMESPACE");
    }
    JsonNode defs = table.path("columnDefinitions");
    for (int i = 0; i < defs.size(); i++) {
      if (wide || defs.get(i).path("priority").asInt(0) == 0) {
        visible.add(i);
        header.add(defs.get(i).path("name").asText().toUpperCase(Locale.ROOT));
      }
    }
    return header;
  }

  private List<List<String>> rows(JsonNode table) {
    if (visible == null) {
      header(table);
    }
    List<List<String>> rows = new ArrayList<>();
    for (JsonNode row : table.path("rows")) {
      List<String> cells = new ArrayList<>();
      if (withNamespace) {
        cells.add(row.path("object").path("metadata").path("namespace").asText(""));
      }
      for (int i : visible) {
        JsonNode c = row.path("cells").path(i);
        cells.add(c.isNull() || c.isMissingNode() || c.asText().isEmpty() ? "<none>" : c.asText());
      }
      rows.add(cells);
    }
    return rows;
  }

  private void measure(List<String> cells) {
    for (int i = 0; i < cells.size() && i < widths.length; i++) {
      widths[i] = Math.max(widths[i], cells.get(i).length());
    }
  }

  private void line(List<String> cells) {
    StringBuilder sb = new StringBuilder();
    for (int i = 0; i < cells.size(); i++) {
      String c = cells.get(i);
      sb.append(c);
      if (i < cells.size() - 1) {
        int w = i < widths.length ? widths[i] : c.length();
        sb.append(" ".repeat(Math.max(0, w - c.length()) + 3));
      }
    }
    out.println(sb.toString().stripTrailing());
  }
}
