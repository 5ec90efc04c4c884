package dev.procurator.apiserver.registry;

import dev.procurator.api.v1alpha1.Names;
import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.function.Predicate;

/**
 * A parsed label selector: {@code a=b}, {@code a==b}, {@code a!=b}, {@code a in (x,y)},
 * {@code a notin (x,y)}, {@code a}, {@code !a}, joined by commas (all must hold).
 */
public final class LabelSelector implements Predicate<JsonNode> {
  private enum Op { EQUALS, NOT_EQUALS, IN, NOT_IN, EXISTS, NOT_EXISTS }

  private record Requirement(String key, Op op, Set<String> values) {
    boolean matches(JsonNode labels) {
      JsonNode v = labels.get(key);
      boolean has = v != null && !v.isNull();
      String value = has ? v.asText() : null;
      return switch (op) {
        case EXISTS -> has;
        case NOT_EXISTS -> !has;
        case EQUALS, IN -> has && values.contains(value);
        case NOT_EQUALS, NOT_IN -> !has || !values.contains(value);
      };
    }
  }

  private final List<Requirement> requirements;

  private LabelSelector(List<Requirement> requirements) {
    this.requirements = requirements;
  }

  public static final LabelSelector EVERYTHING = new LabelSelector(List.of());

  public boolean isEmpty() {
    return requirements.isEmpty();
  }

  /** Matches an object's {@code metadata.labels}. */
  @Override
  public boolean test(JsonNode object) {
    JsonNode labels = object.path("metadata").path("labels");
    for (Requirement r : requirements) {
      if (!r.matches(labels)) {
        return false;
      }
    }
    return true;
  }

  public static LabelSelector parse(String text) {
    if (text == null || text.isBlank()) {
      return EVERYTHING;
    }
    List<Requirement> out = new ArrayList<>();
    for (String part : splitTopLevel(text)) {
      String p = part.trim();
      if (p.isEmpty()) {
        throw invalid(text, "empty requirement");
      }
      out.add(requirement(text, p));
    }
    return new LabelSelector(out);
  }

  private static Requirement requirement(String text, String p) {
    String[] setOps = {" notin ", " in "};
    for (String op : setOps) {
      int i = p.indexOf(op);
      if (i > 0) {
        String key = key(text, p.substring(0, i));
        String rest = p.substring(i + op.length()).trim();
        if (!rest.startsWith("(") || !rest.endsWith(")")) {
          throw invalid(text, "values of '" + key + op + "' must be in parentheses");
        }
        Set<String> values = new java.util.LinkedHashSet<>();
        for (String v : rest.substring(1, rest.length() - 1).split(",")) {
          values.add(value(text, v.trim()));
        }
        return new Requirement(key, op.trim().equals("in") ? Op.IN : Op.NOT_IN, values);
      }
    }
    int ne = p.indexOf("!=");
    if (ne > 0) {
      return new Requirement(key(text, p.substring(0, ne)), Op.NOT_EQUALS, Set.of(value(text, p.substring(ne + 2).trim())));
    }
    int eq = p.indexOf('=');
    if (eq > 0) {
      int valueStart = p.startsWith("==", eq) ? eq + 2 : eq + 1;
      return new Requirement(key(text, p.substring(0, eq)), Op.EQUALS, Set.of(value(text, p.substring(valueStart).trim())));
    }
    if (p.startsWith("!")) {
      return new Requirement(key(text, p.substring(1)), Op.NOT_EXISTS, Set.of());
    }
    return new Requirement(key(text, p), Op.EXISTS, Set.of());
  }

  private static String key(String text, String raw) {
    String k = raw.trim();
    if (k.isEmpty() || !Names.isQualifiedName(k)) {
      throw invalid(text, "invalid label key \"" + k + "\"");
    }
    return k;
  }

  private static String value(String text, String v) {
    if (!Names.isLabelValue(v)) {
      throw invalid(text, "invalid label value \"" + v + "\"");
    }
    return v;
  }

  private static List<String> splitTopLevel(String text) {
    List<String> parts = new ArrayList<>();
    int depth = 0;
    int start = 0;
    for (int i = 0; i < text.length(); i++) {
      char c = text.charAt(i);
      if (c == '(') {
        depth++;
      } else if (c == ')') {
        depth--;
      } else if (c == ',' && depth == 0) {
        parts.add(text.substring(start, i));
        start = i + 1;
      }
    }
    parts.add(text.substring(start));
    return parts;
  }

  private static ApiException invalid(String text, String why) {
    return ApiException.badRequest("unable to parse label selector \"" + text + "\": " + why);
  }
}
