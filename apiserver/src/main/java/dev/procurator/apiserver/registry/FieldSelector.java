package dev.procurator.apiserver.registry;

import com.fasterxml.jackson.databind.JsonNode;
import dev.procurator.apiserver.resource.ResourceType;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Predicate;

/**
 * A parsed field selector ({@code f=v}, {@code f==v}, {@code f!=v}, comma-joined) over the fields a
 * type allows: {@code metadata.name}, {@code metadata.namespace} and its CRD's selectable fields.
 */
public final class FieldSelector implements Predicate<JsonNode> {
  private record Term(String[] path, boolean equals, String value) {}

  private final List<Term> terms;

  private FieldSelector(List<Term> terms) {
    this.terms = terms;
  }

  public static final FieldSelector EVERYTHING = new FieldSelector(List.of());

  public boolean isEmpty() {
    return terms.isEmpty();
  }

  public static FieldSelector parse(String text, ResourceType type) {
    if (text == null || text.isBlank()) {
      return EVERYTHING;
    }
    List<Term> terms = new ArrayList<>();
    for (String raw : text.split(",")) {
      String p = raw.trim();
      int ne = p.indexOf("!=");
      int eq = p.indexOf('=');
      if (eq <= 0 && ne <= 0) {
        throw ApiException.badRequest("invalid field selector \"" + text + "\": \"" + p + "\" is not field=value or field!=value");
      }
      String field;
      String value;
      boolean equals;
      if (ne > 0) {
        field = p.substring(0, ne).trim();
        value = p.substring(ne + 2).trim();
        equals = false;
      } else {
        field = p.substring(0, eq).trim();
        value = p.substring(p.startsWith("==", eq) ? eq + 2 : eq + 1).trim();
        equals = true;
      }
      if (!field.equals("metadata.name") && !(field.equals("metadata.namespace") && type.namespaced())
          && !type.selectableFields().contains(field)) {
        List<String> allowed = new ArrayList<>(List.of("metadata.name"));
        if (type.namespaced()) {
          allowed.add("metadata.namespace");
        }
        allowed.addAll(type.selectableFields());
        throw ApiException.badRequest("field label not supported: " + field + " (" + type.qualifiedResource()
            + " can be selected by " + String.join(", ", allowed) + ")");
      }
      terms.add(new Term(field.split("\\."), equals, value));
    }
    return new FieldSelector(terms);
  }

  @Override
  public boolean test(JsonNode object) {
    for (Term t : terms) {
      JsonNode n = object;
      for (String part : t.path) {
        n = n.path(part);
      }
      String actual = n.isMissingNode() || n.isNull() ? "" : n.asText();
      if (actual.equals(t.value) != t.equals) {
        return false;
      }
    }
    return true;
  }
}
