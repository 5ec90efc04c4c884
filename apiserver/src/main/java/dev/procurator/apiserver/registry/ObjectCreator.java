package dev.procurator.apiserver.registry;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.procurator.api.fields.FieldManager;
import dev.procurator.apiserver.resource.ResourceType;
import dev.procurator.apiserver.storage.StorageException;
import java.security.SecureRandom;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;

/**
 * CREATE (POST): checks the body, sets what the server owns (uid, creationTimestamp, generation,
 * managedFields), draws a name for {@code generateName}, runs the admission chain and stores the
 * object if its key is free. Asynchronous, so a create holds no thread while storage works.
 *
 * <p>Thread-safe.
 */
final class ObjectCreator {
  private static final String NAME_CHARS = "bcdfghjklmnpqrstvwxz2456789";

  private final StoredObjects store;
  private final SecureRandom random = new SecureRandom();

  ObjectCreator(StoredObjects store) {
    this.store = store;
  }

  /** A create whose managedFields are {@code managed} (an apply's), or tracked from the request when null. */
  CompletableFuture<Written> createAsync(ResourceType type, String namespace, ObjectNode body, WriteOptions options, JsonNode managed) {
    ObjectNode obj = body;
    WriteChecks.checkTypeMeta(type, obj);
    ObjectNode meta = WriteChecks.requestMetadata(obj);
    String ns = WriteChecks.checkNamespace(type, namespace, meta);
    if (meta.hasNonNull("resourceVersion") && !meta.get("resourceVersion").asText().isEmpty()) {
      throw ApiException.badRequest("resourceVersion should not be set on objects to be created");
    }
    String generateName = meta.path("generateName").asText("");
    boolean generated = meta.path("name").asText("").isEmpty() && !generateName.isEmpty();
    meta.remove(List.of("resourceVersion", "deletionTimestamp", "deletionGracePeriodSeconds", "managedFields", "selfLink"));
    meta.put("uid", UUID.randomUUID().toString());
    meta.put("creationTimestamp", store.now());
    meta.put("generation", 1);
    if (type.statusSubresource()) {
      obj.remove("status");
    }
    JsonNode fields = managed != null ? managed
        : FieldManager.update(null, obj, options.fieldManager(), options.named(), store.now(), obj.path("apiVersion").asText(null));
    if (fields != null && !fields.isEmpty()) {
      meta.set("managedFields", fields);
    }
    return createAttempt(type, ns, obj, generated ? generateName : null, options, 0);
  }

  /** One try at storing {@code obj}; with generateName, a name that is taken is drawn again, up to 8 times. */
  private CompletableFuture<Written> createAttempt(ResourceType type, String ns, ObjectNode obj, String generateName,
      WriteOptions options, int attempt) {
    ObjectNode meta = WriteChecks.metadata(obj);
    if (generateName != null) {
      meta.put("name", generateName + randomSuffix());
    }
    String name = meta.path("name").asText("");
    List<String> warnings = WriteChecks.admit(type, name, null, obj, options);
    byte[] value = StoredObjects.stored(type, obj);
    if (options.dryRun()) {
      return CompletableFuture.completedFuture(new Written(obj, true, warnings));
    }
    return store.storage().createAsync(type.key(ns, name), value)
        .thenApply(rev -> {
          meta.put("resourceVersion", Long.toString(rev));
          return new Written(obj, true, warnings, StoredObjects.servedBytes(type, value, rev));
        })
        .exceptionallyCompose(failure -> {
          StorageException e = StorageException.of(failure);
          if (e instanceof StorageException.KeyExists && generateName != null && attempt < 8) {
            return createAttempt(type, ns, obj, generateName, options, attempt + 1);
          }
          throw e instanceof StorageException.KeyExists ? ApiException.alreadyExists(type, name) : StoredObjects.translate(e, type, name);
        });
  }

  private String randomSuffix() {
    StringBuilder sb = new StringBuilder(5);
    for (int i = 0; i < 5; i++) {
      sb.append(NAME_CHARS.charAt(random.nextInt(NAME_CHARS.length())));
    }
    return sb.toString();
  }
}
