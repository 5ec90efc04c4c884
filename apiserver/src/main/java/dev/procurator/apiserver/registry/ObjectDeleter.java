package dev.procurator.apiserver.registry;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.procurator.apiserver.resource.FieldError;
import dev.procurator.apiserver.resource.ResourceType;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * DELETE: checks the request's uid and resourceVersion preconditions, marks an object that has
 * finalizers (adding the one its propagation policy asks for) and removes one that has none, then
 * tells the {@link ResourceService.DeleteListener}s.
 *
 * <p>Blocking and thread-safe.
 */
final class ObjectDeleter {
  private final StoredObjects store;
  private final List<ResourceService.DeleteListener> listeners = new CopyOnWriteArrayList<>();

  ObjectDeleter(StoredObjects store) {
    this.store = store;
  }

  void onDelete(ResourceService.DeleteListener l) {
    listeners.add(l);
  }

  Written delete(ResourceType type, String namespace, String name, ObjectNode deleteOptions, boolean dryRun) {
    Written w = deleteOnce(type, namespace, name, deleteOptions, dryRun);
    if (!dryRun) {
      for (ResourceService.DeleteListener l : listeners) {
        l.deleted(type, namespace, name);
      }
    }
    return w;
  }

  private Written deleteOnce(ResourceType type, String namespace, String name, ObjectNode deleteOptions, boolean dryRun) {
    JsonNode pre = deleteOptions == null ? null : deleteOptions.path("preconditions");
    String policy = propagationPolicy(type, name, deleteOptions);
    return store.guaranteedUpdate(type, namespace, name, current -> {
      ObjectNode obj = StoredObjects.served(type, current);
      ObjectNode meta = WriteChecks.metadata(obj);
      if (pre != null && pre.hasNonNull("uid") && !pre.get("uid").asText().equals(meta.path("uid").asText())) {
        throw ApiException.conflict(type, name, "Precondition failed: UID in precondition: " + pre.get("uid").asText()
            + ", UID in object meta: " + meta.path("uid").asText());
      }
      if (pre != null && pre.hasNonNull("resourceVersion")
          && !pre.get("resourceVersion").asText().equals(Long.toString(current.modRevision()))) {
        throw ApiException.conflict(type, name, "Precondition failed: ResourceVersion in precondition: "
            + pre.get("resourceVersion").asText() + ", ResourceVersion in object meta: " + current.modRevision());
      }
      if (dryRun) {
        return new Written(obj, false, List.of());
      }
      String held = switch (policy) {
        case "Foreground" -> ResourceService.FOREGROUND_FINALIZER;
        case "Orphan" -> ResourceService.ORPHAN_FINALIZER;
        default -> null;
      };
      if (held != null && !meta.hasNonNull("deletionTimestamp")) {
        ArrayNode finalizers = meta.path("finalizers") instanceof ArrayNode a ? a : meta.putArray("finalizers");
        if (!WriteChecks.contains(finalizers, Json.NODES.textNode(held))) {
          finalizers.add(held);
        }
      }
      if (meta.path("finalizers").isArray() && !meta.path("finalizers").isEmpty()) {
        if (meta.hasNonNull("deletionTimestamp")) {
          return new Written(obj, false, List.of());
        }
        meta.put("deletionTimestamp", store.now());
        meta.put("deletionGracePeriodSeconds", 0);
        long rev = store.storage().update(current.key(), current.modRevision(), StoredObjects.stored(type, obj));
        meta.put("resourceVersion", Long.toString(rev));
        return new Written(obj, false, List.of());
      }
      store.storage().delete(current.key(), current.modRevision());
      return new Written(obj, false, List.of());
    });
  }

  /** The delete's propagation policy: {@code propagationPolicy}, else the deprecated {@code orphanDependents}, else Background. */
  private static String propagationPolicy(ResourceType type, String name, ObjectNode options) {
    if (options == null) {
      return "Background";
    }
    JsonNode p = options.get("propagationPolicy");
    if (p != null && !p.isNull()) {
      if (!p.isTextual() || !List.of("Background", "Foreground", "Orphan").contains(p.asText())) {
        throw ApiException.invalid(type, name, List.of(FieldError.unsupported("propagationPolicy", p,
            "\"Background\", \"Foreground\", \"Orphan\"")));
      }
      return p.asText();
    }
    return options.path("orphanDependents").asBoolean(false) ? "Orphan" : "Background";
  }
}
