package dev.procurator.apiserver.registry;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import dev.procurator.api.fields.FieldManager;
import dev.procurator.apiserver.resource.ResourceType;
import java.util.List;

/**
 * Server-side apply (PATCH with {@code application/apply-patch+yaml}): merges the fields a
 * manager wants set into the object through {@link FieldManager}, creating the object through
 * {@link ObjectCreator} when it does not exist and replacing it through {@link ObjectUpdater}
 * when it does, and answers conflicts with other managers as Kubernetes does.
 *
 * <p>Blocking and thread-safe.
 */
final class ServerSideApply {
  private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());

  private final StoredObjects store;
  private final ObjectCreator creator;
  private final ObjectUpdater updater;

  ServerSideApply(StoredObjects store, ObjectCreator creator, ObjectUpdater updater) {
    this.store = store;
    this.creator = creator;
    this.updater = updater;
  }

  /**
   * Merges {@code body}, the fields the manager wants set, into the object, creating it when it
   * does not exist. Fields other managers own and the body sets to other values fail the request
   * with 409 and one cause per field, unless the request forces them over.
   */
  Written apply(ResourceType type, String namespace, String name, byte[] body, WriteOptions options) {
    if (!options.named()) {
      throw ApiException.badRequest("fieldManager is required for apply requests");
    }
    ObjectNode config = applyConfig(body);
    if (!config.hasNonNull("apiVersion") || !config.hasNonNull("kind")) {
      throw ApiException.badRequest("an apply request's body must set apiVersion and kind");
    }
    ObjectNode meta = WriteChecks.namedAsTheUrl(type, namespace, name, config);
    if (meta.has("managedFields") && !meta.get("managedFields").isNull()) {
      throw ApiException.badRequest("metadata.managedFields must be nil in an apply request");
    }
    Long precondition = WriteChecks.resourceVersionOf(meta);
    meta.remove("resourceVersion");
    for (int tries = 0; ; tries++) {
      if (StoredObjects.call(() -> store.storage().get(type.key(namespace, name))).isEmpty()) {
        if (precondition != null) {
          throw ApiException.notFound(type, name);
        }
        FieldManager.Applied a = FieldManager.apply(null, config, options.fieldManager(), options.force(), store.now());
        ObjectNode created = a.object();
        JsonNode managed = WriteChecks.metadata(created).remove("managedFields");
        WriteChecks.metadata(created).put("name", name);
        if (namespace != null) {
          WriteChecks.metadata(created).put("namespace", namespace);
        }
        try {
          return StoredObjects.await(creator.createAsync(type, namespace, created, options, managed));
        } catch (ApiException e) {
          if (e.code() != 409 || tries >= StoredObjects.MAX_RETRIES) {
            throw e;
          }
          continue; // created by someone else meanwhile: apply onto theirs
        }
      }
      try {
        return store.guaranteedUpdate(type, namespace, name, latest -> {
          if (precondition != null && precondition != latest.modRevision()) {
            throw StoredObjects.conflict(type, name);
          }
          FieldManager.Applied a = FieldManager.apply(StoredObjects.served(type, latest), config, options.fieldManager(), options.force(),
              store.now());
          if (a.object() == null) {
            throw applyConflicts(type, name, config.path("apiVersion").asText(), a.conflicts());
          }
          return updater.replace(type, namespace, name, latest, a.object(), false, options,
              WriteChecks.metadata(a.object()).get("managedFields"));
        });
      } catch (ApiException e) {
        if (e.code() != 404 || precondition != null || tries >= StoredObjects.MAX_RETRIES) {
          throw e;
        }
        // deleted meanwhile: the next round creates it
      }
    }
  }

  private static ObjectNode applyConfig(byte[] body) {
    if (body == null || body.length == 0) {
      throw ApiException.badRequest("an apply request needs a body");
    }
    JsonNode n;
    try {
      n = YAML.readTree(body);
    } catch (java.io.IOException e) {
      if (e instanceof com.fasterxml.jackson.core.JsonProcessingException j && j.getLocation() != null) {
        throw ApiException.badRequest("the apply body is not valid YAML or JSON at line " + j.getLocation().getLineNr()
            + ", column " + j.getLocation().getColumnNr() + ": " + j.getOriginalMessage());
      }
      throw ApiException.badRequest("the apply body is not valid YAML or JSON: " + e.getMessage());
    }
    if (n == null || !n.isObject()) {
      throw ApiException.badRequest("the apply body must be one object");
    }
    return (ObjectNode) n;
  }

  /** 409 with a cause per field, as Kubernetes answers a conflicting apply. */
  private static ApiException applyConflicts(ResourceType type, String name, String apiVersion, List<FieldManager.Conflict> conflicts) {
    ObjectNode d = Json.object();
    d.put("name", name);
    d.put("group", type.group());
    d.put("kind", type.plural());
    ArrayNode causes = d.putArray("causes");
    StringBuilder msg = new StringBuilder("Apply failed with " + conflicts.size() + (conflicts.size() == 1 ? " conflict:" : " conflicts:"));
    for (FieldManager.Conflict c : conflicts) {
      String who = "conflict with \"" + c.manager() + "\" using " + apiVersion;
      causes.addObject().put("type", "FieldManagerConflict").put("message", who).put("field", c.path().toString());
      msg.append(' ').append(who).append(": ").append(c.path()).append(';');
    }
    msg.setLength(msg.length() - 1);
    return new ApiException(409, "Conflict", msg.toString(), d);
  }
}
