package dev.procurator.apiserver.registry;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.procurator.api.fields.FieldManager;
import dev.procurator.apiserver.resource.ResourceType;
import dev.procurator.apiserver.storage.KeyValue;
import java.util.List;

/**
 * UPDATE (PUT) and PATCH of an object or of its status subresource, and the one replace every
 * write over an existing object ends in (server-side apply's too): what the server owns in
 * metadata is kept, the status or the rest is kept as the subresource says, the generation moves
 * when the spec changes, no finalizer may be added while deleting, and an object being deleted
 * whose last finalizer is removed is deleted.
 *
 * <p>Blocking and thread-safe.
 */
final class ObjectUpdater {
  private final StoredObjects store;

  ObjectUpdater(StoredObjects store) {
    this.store = store;
  }

  /** PUT of the object ({@code status} false) or of its status subresource. */
  Written update(ResourceType type, String namespace, String name, ObjectNode body, boolean status, WriteOptions options) {
    ObjectNode bodyMeta = WriteChecks.namedAsTheUrl(type, namespace, name, body);
    Long precondition = WriteChecks.resourceVersionOf(bodyMeta);
    return store.guaranteedUpdate(type, namespace, name, current -> {
      if (precondition != null && precondition != current.modRevision()) {
        throw StoredObjects.conflict(type, name);
      }
      return replace(type, namespace, name, current, body.deepCopy(), status, options, null);
    });
  }

  Written patch(ResourceType type, String namespace, String name, String contentType, byte[] patch, boolean status,
      WriteOptions options) {
    return store.guaranteedUpdate(type, namespace, name, current -> {
      ObjectNode patched = Patches.apply(contentType, StoredObjects.served(type, current), patch);
      ObjectNode meta = WriteChecks.requestMetadata(patched);
      Long precondition = WriteChecks.resourceVersionOf(meta);
      if (precondition != null && precondition != current.modRevision()) {
        throw StoredObjects.conflict(type, name);
      }
      if (!name.equals(meta.path("name").asText())) {
        throw ApiException.badRequest("a patch may not change metadata.name");
      }
      WriteChecks.checkTypeMeta(type, patched);
      WriteChecks.checkNamespace(type, namespace, meta);
      return replace(type, namespace, name, current, patched, status, options, null);
    });
  }

  /**
   * Writes {@code desired} over {@code current}; throws StorageException.Conflict when it lost a
   * race. {@code applied} is the managedFields an apply computed, or null to track them from the
   * request.
   */
  Written replace(ResourceType type, String namespace, String name, KeyValue current, ObjectNode desired,
      boolean status, WriteOptions options, JsonNode applied) {
    ObjectNode old = StoredObjects.served(type, current);
    ObjectNode next;
    if (status) {
      next = old.deepCopy();
      JsonNode s = desired.get("status");
      if (s == null || s.isNull()) {
        next.remove("status");
      } else {
        next.set("status", s);
      }
    } else {
      next = desired;
      if (type.statusSubresource()) {
        JsonNode s = old.get("status");
        if (s == null) {
          next.remove("status");
        } else {
          next.set("status", s);
        }
      }
    }
    ObjectNode meta = WriteChecks.metadata(next);
    ObjectNode oldMeta = WriteChecks.metadata(old);
    for (String immutable : List.of("uid", "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds", "namespace")) {
      if (oldMeta.has(immutable)) {
        meta.set(immutable, oldMeta.get(immutable));
      } else {
        meta.remove(immutable);
      }
    }
    meta.remove(List.of("managedFields", "selfLink", "generateName"));
    if (oldMeta.has("generateName")) {
      meta.set("generateName", oldMeta.get("generateName"));
    }
    meta.put("name", name);
    meta.put("resourceVersion", Long.toString(current.modRevision()));
    long generation = oldMeta.path("generation").asLong(1);
    meta.put("generation", generation);
    List<String> warnings = WriteChecks.admit(type, name, old, next, options);
    JsonNode managed = applied != null ? applied
        : status ? oldMeta.get("managedFields")
        : FieldManager.update(old, next, options.fieldManager(), options.named(), store.now(), next.path("apiVersion").asText(null));
    if (managed != null && !managed.isEmpty()) {
      meta.set("managedFields", managed);
    }
    if (!status && specChanged(old, next)) {
      meta.put("generation", generation + 1);
    }
    if (sameJson(next, old)) {
      return new Written(old, false, warnings);
    }
    boolean deleting = oldMeta.hasNonNull("deletionTimestamp");
    if (deleting) {
      JsonNode before = oldMeta.path("finalizers");
      for (JsonNode f : meta.path("finalizers")) {
        if (!WriteChecks.contains(before, f)) {
          throw new ApiException(422, "Invalid", type.qualifiedKind() + " \"" + name + "\" is invalid: metadata.finalizers: Forbidden:"
              + " no new finalizers can be added if the object is being deleted, found new finalizers [" + f.asText() + "]", null);
        }
      }
    }
    if (options.dryRun()) {
      return new Written(next, false, warnings);
    }
    String key = type.key(namespace, name);
    if (deleting && meta.path("finalizers").isEmpty()) {
      long rev = StoredObjects.call(() -> store.storage().delete(key, current.modRevision()));
      meta.put("resourceVersion", Long.toString(rev));
      return new Written(next, false, warnings);
    }
    long rev = StoredObjects.call(() -> store.storage().update(key, current.modRevision(), StoredObjects.stored(type, next)));
    meta.put("resourceVersion", Long.toString(rev));
    return new Written(next, false, warnings);
  }

  /** Equal as JSON text would be: 1 as an int and 1 as a long are the same value. */
  private static boolean sameJson(JsonNode a, JsonNode b) {
    try {
      return Json.MAPPER.readTree(Json.bytes(a)).equals(Json.MAPPER.readTree(Json.bytes(b)));
    } catch (java.io.IOException e) {
      return false;
    }
  }

  /** Anything but metadata and status changed: the generation moves. */
  private static boolean specChanged(ObjectNode old, ObjectNode next) {
    ObjectNode a = old.deepCopy();
    ObjectNode b = next.deepCopy();
    a.remove(List.of("metadata", "status"));
    b.remove(List.of("metadata", "status"));
    return !sameJson(a, b);
  }
}
