package dev.procurator.api.fields;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Field ownership, as Kubernetes' server-side apply keeps it in {@code metadata.managedFields}.
 *
 * <p>Each entry names a manager, an operation ({@code Apply} or {@code Update}) and the set of
 * fields it owns, written as FieldsV1 ({@code {"f:spec":{"f:cpu":{}}}}). Maps are merged key by
 * key; lists are atomic (a list is one field), as they are for custom resources without list
 * markers. The fields of {@code status}, the type meta and the metadata the server writes are
 * never owned. Pure functions of their arguments.
 */
public final class FieldManager {
  private FieldManager() {}

  private static final ObjectMapper MAPPER = new ObjectMapper();

  public static final String APPLY = "Apply";
  public static final String UPDATE = "Update";

  private static final Set<String> SERVER_METADATA = Set.of("name", "namespace", "uid", "resourceVersion", "generation",
      "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds", "managedFields", "selfLink", "generateName");

  /** A field's path from the object's root. */
  public record Path(List<String> keys) {
    @Override
    public String toString() {
      return "." + String.join(".", keys);
    }
  }

  /** One manager's entry. */
  public record Entry(String manager, String operation, String apiVersion, String time, Set<Path> fields) {}

  /** A field that two managers set to different values. */
  public record Conflict(Path path, String manager) {}

  /** What an apply leaves: the merged object (managedFields set) and the conflicts it overrode or met. */
  public record Applied(ObjectNode object, List<Conflict> conflicts) {}

  // ---- field sets ----

  /** The fields {@code object} sets: its leaves (scalars, lists, empty maps), less what is never owned. */
  public static Set<Path> fieldsOf(JsonNode object) {
    Set<Path> out = new LinkedHashSet<>();
    leaves(object, new ArrayList<>(), out);
    return out;
  }

  private static void leaves(JsonNode node, List<String> at, Set<Path> out) {
    if (node == null || node.isNull() || node.isMissingNode()) {
      return;
    }
    if (!node.isObject() || node.isEmpty()) {
      if (!at.isEmpty() && owned(at)) {
        out.add(new Path(List.copyOf(at)));
      }
      return;
    }
    for (Iterator<Map.Entry<String, JsonNode>> it = node.properties().iterator(); it.hasNext(); ) {
      Map.Entry<String, JsonNode> e = it.next();
      at.add(e.getKey());
      if (owned(at)) {
        leaves(e.getValue(), at, out);
      }
      at.removeLast();
    }
  }

  /** Whether a path can be owned at all. */
  private static boolean owned(List<String> at) {
    String first = at.getFirst();
    if (at.size() == 1) {
      return !first.equals("apiVersion") && !first.equals("kind") && !first.equals("status");
    }
    return !(first.equals("metadata") && at.size() == 2 && SERVER_METADATA.contains(at.get(1)));
  }

  /** FieldsV1 of a set of paths. */
  public static ObjectNode toFieldsV1(Set<Path> fields) {
    ObjectNode root = MAPPER.createObjectNode();
    for (Path p : fields) {
      ObjectNode at = root;
      for (String k : p.keys()) {
        at = at.has("f:" + k) ? (ObjectNode) at.get("f:" + k) : at.putObject("f:" + k);
      }
    }
    return root;
  }

  /** The paths a FieldsV1 object names (its leaves). */
  public static Set<Path> fromFieldsV1(JsonNode fieldsV1) {
    Set<Path> out = new LinkedHashSet<>();
    fromFieldsV1(fieldsV1, new ArrayList<>(), out);
    return out;
  }

  private static void fromFieldsV1(JsonNode node, List<String> at, Set<Path> out) {
    if (node == null || !node.isObject()) {
      return;
    }
    boolean leaf = true;
    for (Iterator<Map.Entry<String, JsonNode>> it = node.properties().iterator(); it.hasNext(); ) {
      Map.Entry<String, JsonNode> e = it.next();
      if (e.getKey().startsWith("f:")) {
        leaf = false;
        at.add(e.getKey().substring(2));
        fromFieldsV1(e.getValue(), at, out);
        at.removeLast();
      }
    }
    if (leaf && !at.isEmpty()) {
      out.add(new Path(List.copyOf(at)));
    }
  }

  // ---- managedFields ----

  /** The entries of {@code object}'s metadata.managedFields; unreadable entries are dropped. */
  public static List<Entry> entries(JsonNode object) {
    List<Entry> out = new ArrayList<>();
    for (JsonNode e : object.path("metadata").path("managedFields")) {
      String manager = e.path("manager").asText("");
      String op = e.path("operation").asText(UPDATE);
      if (!e.path("subresource").asText("").isEmpty()) {
        continue; // status is not owned here
      }
      out.add(new Entry(manager, op, e.path("apiVersion").asText(null), e.path("time").asText(null), fromFieldsV1(e.path("fieldsV1"))));
    }
    return out;
  }

  /** managedFields as stored: entries with no fields left go. */
  public static ArrayNode toJson(List<Entry> entries) {
    ArrayNode out = MAPPER.createArrayNode();
    for (Entry e : entries) {
      if (e.fields().isEmpty()) {
        continue;
      }
      ObjectNode n = out.addObject();
      n.put("manager", e.manager());
      n.put("operation", e.operation());
      if (e.apiVersion() != null) {
        n.put("apiVersion", e.apiVersion());
      }
      if (e.time() != null) {
        n.put("time", e.time());
      }
      n.put("fieldsType", "FieldsV1");
      n.set("fieldsV1", toFieldsV1(e.fields()));
    }
    return out;
  }

  // ---- apply ----

  /**
   * Server-side apply of {@code config} by {@code manager} onto {@code live} (null when the object
   * does not exist). Without {@code force}, a field another manager owns and {@code config} sets
   * to a different value is a conflict and nothing is merged: the conflicts come back with a null
   * object. With it, the manager takes those fields over. Fields the manager applied before and
   * no longer sets are removed, unless another manager owns them too.
   */
  public static Applied apply(ObjectNode live, ObjectNode config, String manager, boolean force, String now) {
    Set<Path> applied = fieldsOf(config);
    List<Entry> entries = live == null ? new ArrayList<>() : entries(live);
    Set<Path> before = Set.of();
    List<Conflict> conflicts = new ArrayList<>();
    for (Entry e : entries) {
      if (e.manager().equals(manager)) {
        if (e.operation().equals(APPLY)) {
          before = e.fields();
        }
        continue;
      }
      for (Path p : e.fields()) {
        if (applied.contains(p) && !same(valueAt(config, p), valueAt(live, p))) {
          conflicts.add(new Conflict(p, e.manager()));
        }
      }
    }
    if (!conflicts.isEmpty() && !force) {
      return new Applied(null, conflicts);
    }
    ObjectNode merged = live == null ? MAPPER.createObjectNode() : live.deepCopy();
    List<Entry> next = new ArrayList<>();
    Set<Path> conflicting = new LinkedHashSet<>();
    conflicts.forEach(c -> conflicting.add(c.path()));
    Set<Path> ownedByOthers = new LinkedHashSet<>();
    for (Entry e : entries) {
      if (e.manager().equals(manager) && e.operation().equals(APPLY)) {
        continue;
      }
      Set<Path> kept = new LinkedHashSet<>(e.fields());
      if (!e.manager().equals(manager)) {
        kept.removeAll(conflicting); // forced: the applier takes them over
      }
      ownedByOthers.addAll(kept);
      next.add(new Entry(e.manager(), e.operation(), e.apiVersion(), e.time(), kept));
    }
    for (Path p : before) {
      if (!applied.contains(p) && !ownedByOthers.contains(p)) {
        remove(merged, p);
      }
    }
    for (Path p : applied) {
      set(merged, p, valueAt(config, p).deepCopy());
    }
    for (String typeMeta : List.of("apiVersion", "kind")) {
      if (config.has(typeMeta)) {
        merged.set(typeMeta, config.get(typeMeta));
      }
    }
    Entry previous = entries.stream().filter(e -> e.manager().equals(manager) && e.operation().equals(APPLY)).findFirst().orElse(null);
    boolean unchanged = previous != null && previous.fields().equals(applied);
    Entry mine = new Entry(manager, APPLY, config.path("apiVersion").asText(null), unchanged ? previous.time() : now, applied);
    next.add(previous == null ? next.size() : indexOf(entries, previous, next), mine);
    setManagedFields(merged, next);
    return new Applied(merged, conflicts);
  }

  /** Keeps the applier's entry where it was in the list, so an apply that changes nothing writes nothing. */
  private static int indexOf(List<Entry> entries, Entry previous, List<Entry> next) {
    int i = entries.indexOf(previous);
    return Math.min(i, next.size());
  }

  // ---- update ----

  /**
   * The managedFields after {@code manager} changed {@code old} into {@code next} with a create,
   * an update or a patch: the manager owns each field it changed, and the others lose them.
   * Objects without managedFields are tracked only when the request named its manager.
   */
  public static ArrayNode update(ObjectNode old, ObjectNode next, String manager, boolean named, String now, String apiVersion) {
    List<Entry> entries = old == null ? new ArrayList<>() : entries(old);
    if (entries.isEmpty() && !named) {
      return null;
    }
    Set<Path> changed = new LinkedHashSet<>();
    Set<Path> removed = new LinkedHashSet<>();
    diff(old, next, new ArrayList<>(), changed, removed);
    if (changed.isEmpty() && removed.isEmpty()) {
      return old == null ? null : toJson(entries);
    }
    List<Entry> out = new ArrayList<>();
    Entry mine = null;
    for (Entry e : entries) {
      Set<Path> kept = new LinkedHashSet<>();
      for (Path p : e.fields()) {
        if (!changed.contains(p) && !removedUnder(removed, p) && valueAt(next, p) != null) {
          kept.add(p);
        }
      }
      if (e.manager().equals(manager) && e.operation().equals(UPDATE)) {
        kept.addAll(changed);
        mine = new Entry(manager, UPDATE, apiVersion, now, kept);
        out.add(mine);
      } else {
        out.add(new Entry(e.manager(), e.operation(), e.apiVersion(), e.time(), kept));
      }
    }
    if (mine == null && !changed.isEmpty()) {
      out.add(new Entry(manager, UPDATE, apiVersion, now, changed));
    }
    return toJson(out);
  }

  private static boolean removedUnder(Set<Path> removed, Path p) {
    for (Path r : removed) {
      if (p.keys().size() >= r.keys().size() && p.keys().subList(0, r.keys().size()).equals(r.keys())) {
        return true;
      }
    }
    return false;
  }

  /** The leaves that differ between {@code a} and {@code b}: set or changed in b, or gone from it. */
  public static void diff(JsonNode a, JsonNode b, List<String> at, Set<Path> changed, Set<Path> removed) {
    boolean aObj = a != null && a.isObject() && !a.isEmpty();
    boolean bObj = b != null && b.isObject() && !b.isEmpty();
    if (aObj && bObj) {
      Set<String> keys = new LinkedHashSet<>();
      a.fieldNames().forEachRemaining(keys::add);
      b.fieldNames().forEachRemaining(keys::add);
      for (String k : keys) {
        at.add(k);
        if (owned(at)) {
          diff(a.get(k), b.get(k), at, changed, removed);
        }
        at.removeLast();
      }
      return;
    }
    if (same(a, b)) {
      return;
    }
    if (absent(b)) {
      if (!at.isEmpty()) {
        removed.add(new Path(List.copyOf(at)));
      }
      return;
    }
    if (bObj) {
      leaves(b, at, changed);
    } else if (!at.isEmpty() && owned(at)) {
      changed.add(new Path(List.copyOf(at)));
    }
  }

  private static boolean absent(JsonNode n) {
    return n == null || n.isNull() || n.isMissingNode();
  }

  // ---- values ----

  /** The value at {@code p}, or null. */
  public static JsonNode valueAt(JsonNode root, Path p) {
    JsonNode at = root;
    for (String k : p.keys()) {
      if (at == null || !at.isObject()) {
        return null;
      }
      at = at.get(k);
    }
    return absent(at) ? null : at;
  }

  private static void set(ObjectNode root, Path p, JsonNode value) {
    ObjectNode at = root;
    List<String> keys = p.keys();
    for (int i = 0; i < keys.size() - 1; i++) {
      JsonNode child = at.get(keys.get(i));
      at = child != null && child.isObject() ? (ObjectNode) child : at.putObject(keys.get(i));
    }
    at.set(keys.getLast(), value);
  }

  private static void remove(ObjectNode root, Path p) {
    JsonNode at = root;
    List<String> keys = p.keys();
    for (int i = 0; i < keys.size() - 1; i++) {
      at = at.get(keys.get(i));
      if (at == null || !at.isObject()) {
        return;
      }
    }
    ((ObjectNode) at).remove(keys.getLast());
  }

  /** Equal as values: 1, 1.0 and 1L are the same number. */
  public static boolean same(JsonNode a, JsonNode b) {
    if (absent(a) || absent(b)) {
      return absent(a) && absent(b);
    }
    if (a.isNumber() && b.isNumber()) {
      return a.decimalValue().compareTo(b.decimalValue()) == 0;
    }
    if (a.isObject() && b.isObject()) {
      if (a.size() != b.size()) {
        return false;
      }
      for (Iterator<Map.Entry<String, JsonNode>> it = a.properties().iterator(); it.hasNext(); ) {
        Map.Entry<String, JsonNode> e = it.next();
        if (!same(e.getValue(), b.get(e.getKey()))) {
          return false;
        }
      }
      return true;
    }
    if (a.isArray() && b.isArray()) {
      if (a.size() != b.size()) {
        return false;
      }
      for (int i = 0; i < a.size(); i++) {
        if (!same(a.get(i), b.get(i))) {
          return false;
        }
      }
      return true;
    }
    return a.equals(b);
  }

  private static void setManagedFields(ObjectNode object, List<Entry> entries) {
    ObjectNode meta = object.has("metadata") && object.get("metadata").isObject() ? (ObjectNode) object.get("metadata")
        : object.putObject("metadata");
    ArrayNode json = toJson(entries);
    if (json.isEmpty()) {
      meta.remove("managedFields");
    } else {
      meta.set("managedFields", json);
    }
  }

  /** Kubernetes' message for a conflict: {@code conflict with "kubectl-edit": .spec.cpu}. */
  public static String describe(Conflict c) {
    return "conflict with \"" + c.manager() + "\": " + c.path();
  }
}
