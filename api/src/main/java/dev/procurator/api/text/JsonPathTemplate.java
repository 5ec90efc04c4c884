package dev.procurator.api.text;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.List;

/**
 * A kubectl {@code -o jsonpath=} template: text with {@code {EXPRESSION}} parts, string literals
 * ({@code {"\n"}}) and {@code {range EXPRESSION}...{end}}, where the range's body sees each
 * element as its root. Several results of one expression print separated by spaces, as kubectl
 * prints them; strings print bare, other values as JSON.
 */
public final class JsonPathTemplate {
  private sealed interface Part {}

  private record Text(String text) implements Part {}

  private record Expr(JsonPath path) implements Part {}

  private record Range(JsonPath path, List<Part> body) implements Part {}

  private final List<Part> parts;

  private JsonPathTemplate(List<Part> parts) {
    this.parts = parts;
  }

  /** Parses a template; a malformed one throws IllegalArgumentException naming what is wrong. */
  public static JsonPathTemplate parse(String template) {
    List<List<Part>> stack = new ArrayList<>();
    List<JsonPath> ranges = new ArrayList<>();
    List<Part> current = new ArrayList<>();
    int i = 0;
    while (i < template.length()) {
      int open = template.indexOf('{', i);
      if (open < 0) {
        current.add(new Text(template.substring(i)));
        break;
      }
      if (open > i) {
        current.add(new Text(template.substring(i, open)));
      }
      int close = closing(template, open);
      String inner = template.substring(open + 1, close).trim();
      if (inner.startsWith("\"") || inner.startsWith("'")) {
        current.add(new Text(unquote(inner)));
      } else if (inner.startsWith("range ")) {
        stack.add(current);
        ranges.add(JsonPath.compile(inner.substring("range ".length()).trim()));
        current = new ArrayList<>();
      } else if (inner.equals("end")) {
        if (stack.isEmpty()) {
          throw new IllegalArgumentException("{end} without {range} in the template " + template);
        }
        List<Part> body = current;
        current = stack.removeLast();
        current.add(new Range(ranges.removeLast(), body));
      } else {
        current.add(new Expr(JsonPath.compile(inner)));
      }
      i = close + 1;
    }
    if (!stack.isEmpty()) {
      throw new IllegalArgumentException("{range} without {end} in the template " + template);
    }
    return new JsonPathTemplate(current);
  }

  private static int closing(String t, int open) {
    boolean quoted = false;
    char quote = 0;
    for (int j = open + 1; j < t.length(); j++) {
      char c = t.charAt(j);
      if (quoted) {
        if (c == '\\') {
          j++;
        } else if (c == quote) {
          quoted = false;
        }
      } else if (c == '"' || c == '\'') {
        quoted = true;
        quote = c;
      } else if (c == '}') {
        return j;
      }
    }
    throw new IllegalArgumentException("unclosed { in the template " + t);
  }

  private static String unquote(String s) {
    String body = s.substring(1, s.length() - 1);
    StringBuilder out = new StringBuilder();
    for (int i = 0; i < body.length(); i++) {
      char c = body.charAt(i);
      if (c == '\\' && i + 1 < body.length()) {
        char n = body.charAt(++i);
        out.append(switch (n) {
          case 'n' -> '\n';
          case 't' -> '\t';
          case 'r' -> '\r';
          default -> n;
        });
      } else {
        out.append(c);
      }
    }
    return out.toString();
  }

  public String render(JsonNode root) {
    StringBuilder out = new StringBuilder();
    render(parts, root, out);
    return out.toString();
  }

  private static void render(List<Part> parts, JsonNode root, StringBuilder out) {
    for (Part p : parts) {
      switch (p) {
        case Text t -> out.append(t.text());
        case Expr e -> {
          List<JsonNode> values = e.path().evaluate(root);
          for (int i = 0; i < values.size(); i++) {
            if (i > 0) {
              out.append(' ');
            }
            out.append(text(values.get(i)));
          }
        }
        case Range r -> {
          for (JsonNode item : r.path().evaluate(root)) {
            render(r.body(), item, out);
          }
        }
      }
    }
  }

  /** How one value prints: a string bare, anything else as JSON. */
  public static String text(JsonNode v) {
    return v.isTextual() ? v.asText() : v.toString();
  }
}
