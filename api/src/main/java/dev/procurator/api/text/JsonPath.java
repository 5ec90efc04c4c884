package dev.procurator.api.text;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.List;

/**
 * The part of Kubernetes JSONPath that printer columns, {@code -o jsonpath} and {@code -o
 * custom-columns} use: {@code .a.b}, {@code .a[0]}, {@code .a[*]} and {@code .a[?(@.f=="v")]}
 * (also {@code !=}). A dot inside a field name is escaped as kubectl escapes it:
 * {@code .metadata.labels.procurator\.dev/revision}.
 */
public final class JsonPath {
  private sealed interface Step {}

  private record Field(String name) implements Step {}

  private record Index(int index) implements Step {}

  private record All() implements Step {}

  private record Filter(String[] path, String value, boolean equals) implements Step {}

  private final List<Step> steps;

  private JsonPath(List<Step> steps) {
    this.steps = steps;
  }

  public static JsonPath compile(String expression) {
    String e = expression.trim();
    if (e.startsWith("{") && e.endsWith("}")) {
      e = e.substring(1, e.length() - 1);
    }
    if (e.startsWith("$") || e.startsWith("@")) {
      e = e.substring(1);
    }
    List<Step> steps = new ArrayList<>();
    int i = 0;
    while (i < e.length()) {
      char c = e.charAt(i);
      if (c == '.') {
        int j = i + 1;
        while (j < e.length() && e.charAt(j) != '.' && e.charAt(j) != '[') {
          j += e.charAt(j) == '\\' && j + 1 < e.length() ? 2 : 1; // '\.' is a dot inside a name, as in procurator\.dev/revision
        }
        if (j > i + 1) {
          steps.add(new Field(unescape(e.substring(i + 1, j))));
        }
        i = j;
      } else if (c == '[') {
        int j = e.indexOf(']', i);
        if (e.startsWith("[?(", i)) {
          j = e.indexOf(")]", i) + 1;
        }
        if (j <= i) {
          throw new IllegalArgumentException("unclosed [ in " + expression);
        }
        steps.add(bracket(e.substring(i + 1, j), expression));
        i = j + 1;
      } else {
        throw new IllegalArgumentException("unexpected '" + c + "' in " + expression);
      }
    }
    return new JsonPath(steps);
  }

  private static Step bracket(String inner, String expression) {
    if (inner.equals("*")) {
      return new All();
    }
    if (inner.startsWith("?(") && inner.endsWith(")")) {
      String cond = inner.substring(2, inner.length() - 1).trim();
      boolean equals = !cond.contains("!=");
      String[] parts = cond.split(equals ? "==" : "!=", 2);
      if (parts.length != 2 || !parts[0].trim().startsWith("@.")) {
        throw new IllegalArgumentException("unsupported filter in " + expression);
      }
      String value = parts[1].trim();
      if ((value.startsWith("\"") && value.endsWith("\"")) || (value.startsWith("'") && value.endsWith("'"))) {
        value = value.substring(1, value.length() - 1);
      }
      String[] path = parts[0].trim().substring(2).split("(?<!\\\\)\\.");
      for (int k = 0; k < path.length; k++) {
        path[k] = unescape(path[k]);
      }
      return new Filter(path, value, equals);
    }
    if (inner.startsWith("'") || inner.startsWith("\"")) {
      return new Field(inner.substring(1, inner.length() - 1));
    }
    return new Index(Integer.parseInt(inner.trim()));
  }

  /** A field name as written, with kubectl's escapes undone: {@code \.} is a dot that does not separate fields. */
  private static String unescape(String name) {
    return name.replace("\\.", ".");
  }

  public List<JsonNode> evaluate(JsonNode root) {
    List<JsonNode> current = List.of(root);
    for (Step step : steps) {
      List<JsonNode> next = new ArrayList<>();
      for (JsonNode n : current) {
        switch (step) {
          case Field f -> {
            JsonNode v = n.get(f.name);
            if (v != null && !v.isNull()) {
              next.add(v);
            }
          }
          case Index x -> {
            int idx = x.index < 0 ? n.size() + x.index : x.index;
            if (n.isArray() && idx >= 0 && idx < n.size()) {
              next.add(n.get(idx));
            }
          }
          case All a -> n.forEach(next::add);
          case Filter f -> {
            for (JsonNode item : n) {
              JsonNode v = item;
              for (String p : f.path) {
                v = v.path(p);
              }
              if (!v.isMissingNode() && v.asText().equals(f.value) == f.equals) {
                next.add(item);
              }
            }
          }
        }
      }
      current = next;
    }
    return current;
  }
}
