package dev.procurator.apiserver.registry;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import dev.procurator.api.fields.FieldManager;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.procurator.apiserver.resource.FieldError;
import dev.procurator.apiserver.resource.ResourceType;
import dev.procurator.apiserver.resource.StructuralSchema;
import dev.procurator.apiserver.storage.KeyValue;
import dev.procurator.apiserver.storage.ListPage;
import dev.procurator.apiserver.storage.Storage;
import dev.procurator.apiserver.storage.StorageException;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Objects;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.Locale;

/**
 * The Kubernetes verbs for every resource type, over one {@link Storage}.
 *
 * <p>Blocking and thread-safe; call from worker or virtual threads. Every failure is an {@link
 * ApiException}.
 */
public final class ResourceService {
  private static final int MAX_RETRIES = 16;
  private static final String NAME_CHARS = "bcdfghjklmnpqrstvwxz2456789";

  private final Storage storage;
  private final Clock clock;
  private final SecureRandom random = new SecureRandom();
  private final ListSnapshots snapshots;
  private final List<DeleteListener> deleteListeners = new java.util.concurrent.CopyOnWriteArrayList<>();

  public ResourceService(Storage storage, Clock clock) {
    this.storage = storage;
    this.clock = clock;
    this.snapshots = new ListSnapshots(storage, 256L << 20);
  }

  public Storage storage() {
    return storage;
  }

  private String now() {
    return Instant.now(clock).truncatedTo(ChronoUnit.SECONDS).toString();
  }

  // ---- reads ----

  public ObjectNode get(ResourceType type, String namespace, String name) {
    return served(type, currentOrNotFound(type, namespace, name));
  }

  /** The stored object as {@code type} serves it, with its resourceVersion. */
  private static ObjectNode served(ResourceType type, KeyValue kv) {
    ObjectNode o = Codec.decode(kv);
    return type.conversion() == null ? o : type.conversion().toServed(o);
  }

  /** The bytes to store for {@code object} as {@code type} serves it. */
  private static byte[] stored(ResourceType type, ObjectNode object) {
    return Codec.encode(type.conversion() == null ? object : type.conversion().toStorage(object.deepCopy()));
  }

  /** What a client of {@code type} reads for {@code stored} bytes at revision {@code rev}. */
  private static byte[] servedBytes(ResourceType type, byte[] stored, long rev) {
    byte[] raw = Codec.raw(stored, rev);
    return type.conversion() == null ? raw : Json.bytes(type.conversion().toServed(Json.readStored(raw)));
  }

  public ListResult list(ResourceType type, String namespace, ListOptions options) {
    String prefix = type.keyPrefix(namespace);
    long revision = 0;
    String start = null;
    if (options.continueToken() != null && !options.continueToken().isEmpty()) {
      Continue c = Continue.decode(options.continueToken(), prefix);
      revision = c.revision;
      start = c.startKey;
    }
    boolean filtered = !options.labels().isEmpty() || !options.fields().isEmpty();
    int limit = options.limit();
    List<byte[]> items = new ArrayList<>();
    String lastKey = null;
    boolean more;
    long listRevision;
    while (true) {
      int want = limit == 0 ? 0 : filtered ? Math.max(limit - items.size(), 100) : limit - items.size();
      final long rev = revision;
      final String from = start;
      ListPage page;
      try {
        // the first page from the store; continued ones from a snapshot of the rest at that revision
        page = rev > 0 && from != null ? snapshots.page(prefix, from, rev, want) : storage.list(prefix, from, rev, want);
      } catch (StorageException.Compacted e) {
        throw ApiException.gone("The provided continue parameter is too old to display a consistent list result."
            + " Start a new list without the continue parameter.");
      } catch (StorageException e) {
        throw translate(e, type, null);
      }
      listRevision = page.revision();
      revision = page.revision();
      more = page.more();
      for (KeyValue kv : page.items()) {
        lastKey = kv.key();
        if (filtered) {
          ObjectNode o = served(type, kv);
          if (!options.labels().test(o) || !options.fields().test(o)) {
            continue;
          }
          items.add(Json.bytes(o));
        } else {
          items.add(servedBytes(type, kv.value(), kv.modRevision()));
        }
        if (limit > 0 && items.size() >= limit) {
          more = more || kv != page.items().get(page.items().size() - 1);
          break;
        }
      }
      if (!more || limit == 0 || items.size() >= limit) {
        break;
      }
      start = lastKey + "\0";
    }
    String token = more && lastKey != null ? new Continue(listRevision, lastKey + "\0").encode() : null;
    return new ListResult(items, listRevision, token);
  }

  /** A continue token: the list's revision and the next key. */
  private record Continue(long revision, String startKey) {
    String encode() {
      ObjectNode n = Json.object().put("rv", revision).put("start", startKey);
      return Base64.getUrlEncoder().withoutPadding().encodeToString(Json.bytes(n));
    }

    static Continue decode(String token, String prefix) {
      try {
        JsonNode n = Json.MAPPER.readTree(Base64.getUrlDecoder().decode(token));
        long rev = n.path("rv").asLong(0);
        String start = n.path("start").asText("");
        if (rev <= 0 || !start.startsWith(prefix)) {
          throw new IllegalArgumentException("wrong list");
        }
        return new Continue(rev, start);
      } catch (Exception e) {
        throw ApiException.badRequest("invalid continue token: it must be one returned by a list of the same resource");
      }
    }
  }

  // ---- create ----

  /** POST, waiting for storage; see {@link #createAsync}. */
  public Written create(ResourceType type, String namespace, ObjectNode body, WriteOptions options) {
    return await(createAsync(type, namespace, body, options));
  }

  /**
   * POST: {@code body} becomes the stored object (it is changed in place). The object is checked
   * on the calling thread and an invalid one is thrown at once as an {@link ApiException}; what
   * storage refuses fails the future with one. Never blocks.
   */
  public CompletableFuture<Written> createAsync(ResourceType type, String namespace, ObjectNode body, WriteOptions options) {
    return createAsync(type, namespace, body, options, null);
  }

  /** A create whose managedFields are {@code managed} (an apply's), or tracked from the request when null. */
  private CompletableFuture<Written> createAsync(ResourceType type, String namespace, ObjectNode body, WriteOptions options,
      JsonNode managed) {
    ObjectNode obj = body;
    checkTypeMeta(type, obj);
    ObjectNode meta = requestMetadata(obj);
    String ns = checkNamespace(type, namespace, meta);
    if (meta.hasNonNull("resourceVersion") && !meta.get("resourceVersion").asText().isEmpty()) {
      throw ApiException.badRequest("resourceVersion should not be set on objects to be created");
    }
    String generateName = meta.path("generateName").asText("");
    boolean generated = meta.path("name").asText("").isEmpty() && !generateName.isEmpty();
    meta.remove(List.of("resourceVersion", "deletionTimestamp", "deletionGracePeriodSeconds", "managedFields", "selfLink"));
    meta.put("uid", UUID.randomUUID().toString());
    meta.put("creationTimestamp", now());
    meta.put("generation", 1);
    if (type.statusSubresource()) {
      obj.remove("status");
    }
    JsonNode fields = managed != null ? managed
        : FieldManager.update(null, obj, options.fieldManager(), options.named(), nowSeconds(), obj.path("apiVersion").asText(null));
    if (fields != null && !fields.isEmpty()) {
      meta.set("managedFields", fields);
    }
    return createAttempt(type, ns, obj, generated ? generateName : null, options, 0);
  }

  private String nowSeconds() {
    return java.time.format.DateTimeFormatter.ISO_INSTANT.format(clock.instant().truncatedTo(java.time.temporal.ChronoUnit.SECONDS));
  }

  /** One try at storing {@code obj}; with generateName, a name that is taken is drawn again, up to 8 times. */
  private CompletableFuture<Written> createAttempt(ResourceType type, String ns, ObjectNode obj, String generateName,
      WriteOptions options, int attempt) {
    ObjectNode meta = metadata(obj);
    if (generateName != null) {
      meta.put("name", generateName + randomSuffix());
    }
    String name = meta.path("name").asText("");
    List<String> warnings = admit(type, name, null, obj, options);
    byte[] value = stored(type, obj);
    if (options.dryRun()) {
      return CompletableFuture.completedFuture(new Written(obj, true, warnings));
    }
    return storage.createAsync(type.key(ns, name), value)
        .thenApply(rev -> {
          meta.put("resourceVersion", Long.toString(rev));
          return new Written(obj, true, warnings, servedBytes(type, value, rev));
        })
        .exceptionallyCompose(failure -> {
          StorageException e = StorageException.of(failure);
          if (e instanceof StorageException.KeyExists && generateName != null && attempt < 8) {
            return createAttempt(type, ns, obj, generateName, options, attempt + 1);
          }
          throw e instanceof StorageException.KeyExists ? ApiException.alreadyExists(type, name) : translate(e, type, name);
        });
  }

  /** Waits for one of this service's futures; its ApiException is thrown as it is. */
  private static <T> T await(CompletableFuture<T> f) {
    try {
      return f.get();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw ApiException.unavailable("interrupted while waiting for storage");
    } catch (ExecutionException e) {
      throw ApiException.unwrap(e.getCause());
    }
  }

  private String randomSuffix() {
    StringBuilder sb = new StringBuilder(5);
    for (int i = 0; i < 5; i++) {
      sb.append(NAME_CHARS.charAt(random.nextInt(NAME_CHARS.length())));
    }
    return sb.toString();
  }

  // ---- update and patch ----

  /** The metadata of a body written to {@code name}'s URL: its kind, name and namespace must be the URL's (a missing name is taken from it). */
  private static ObjectNode namedAsTheUrl(ResourceType type, String namespace, String name, ObjectNode body) {
    checkTypeMeta(type, body);
    ObjectNode meta = requestMetadata(body);
    String bodyName = meta.path("name").asText("");
    if (!bodyName.isEmpty() && !bodyName.equals(name)) {
      throw ApiException.badRequest("the name of the object (" + bodyName + ") does not match the name on the URL (" + name + ")");
    }
    meta.put("name", name);
    checkNamespace(type, namespace, meta);
    return meta;
  }

  /** PUT of the object ({@code status} false) or of its status subresource. */
  public Written update(ResourceType type, String namespace, String name, ObjectNode body, boolean status, WriteOptions options) {
    ObjectNode bodyMeta = namedAsTheUrl(type, namespace, name, body);
    Long precondition = resourceVersionOf(bodyMeta);
    return guaranteedUpdate(type, namespace, name, current -> {
      if (precondition != null && precondition != current.modRevision()) {
        throw conflict(type, name);
      }
      return replace(type, namespace, name, current, body.deepCopy(), status, options, null);
    });
  }

  public Written patch(ResourceType type, String namespace, String name, String contentType, byte[] patch, boolean status,
      WriteOptions options) {
    return guaranteedUpdate(type, namespace, name, current -> {
      ObjectNode patched = Patches.apply(contentType, served(type, current), patch);
      ObjectNode meta = requestMetadata(patched);
      Long precondition = resourceVersionOf(meta);
      if (precondition != null && precondition != current.modRevision()) {
        throw conflict(type, name);
      }
      if (!name.equals(meta.path("name").asText())) {
        throw ApiException.badRequest("a patch may not change metadata.name");
      }
      checkTypeMeta(type, patched);
      checkNamespace(type, namespace, meta);
      return replace(type, namespace, name, current, patched, status, options, null);
    });
  }

  /**
   * Server-side apply (PATCH with {@code application/apply-patch+yaml}): merges {@code body}, the
   * fields the manager wants set, into the object, creating it when it does not exist. Fields
   * other managers own and the body sets to other values fail the request with 409 and one cause
   * per field, unless the request forces them over.
   */
  public Written apply(ResourceType type, String namespace, String name, byte[] body, WriteOptions options) {
    if (!options.named()) {
      throw ApiException.badRequest("fieldManager is required for apply requests");
    }
    ObjectNode config = applyConfig(body);
    if (!config.hasNonNull("apiVersion") || !config.hasNonNull("kind")) {
      throw ApiException.badRequest("an apply request's body must set apiVersion and kind");
    }
    ObjectNode meta = namedAsTheUrl(type, namespace, name, config);
    if (meta.has("managedFields") && !meta.get("managedFields").isNull()) {
      throw ApiException.badRequest("metadata.managedFields must be nil in an apply request");
    }
    Long precondition = resourceVersionOf(meta);
    meta.remove("resourceVersion");
    for (int tries = 0; ; tries++) {
      if (call(() -> storage.get(type.key(namespace, name))).isEmpty()) {
        if (precondition != null) {
          throw ApiException.notFound(type, name);
        }
        FieldManager.Applied a = FieldManager.apply(null, config, options.fieldManager(), options.force(), nowSeconds());
        ObjectNode created = a.object();
        JsonNode managed = metadata(created).remove("managedFields");
        metadata(created).put("name", name);
        if (namespace != null) {
          metadata(created).put("namespace", namespace);
        }
        try {
          return await(createAsync(type, namespace, created, options, managed));
        } catch (ApiException e) {
          if (e.code() != 409 || tries >= MAX_RETRIES) {
            throw e;
          }
          continue; // created by someone else meanwhile: apply onto theirs
        }
      }
      try {
        return guaranteedUpdate(type, namespace, name, latest -> {
          if (precondition != null && precondition != latest.modRevision()) {
            throw conflict(type, name);
          }
          FieldManager.Applied a = FieldManager.apply(served(type, latest), config, options.fieldManager(), options.force(), nowSeconds());
          if (a.object() == null) {
            throw applyConflicts(type, name, config.path("apiVersion").asText(), a.conflicts());
          }
          return replace(type, namespace, name, latest, a.object(), false, options, metadata(a.object()).get("managedFields"));
        });
      } catch (ApiException e) {
        if (e.code() != 404 || precondition != null || tries >= MAX_RETRIES) {
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

  private static final com.fasterxml.jackson.databind.ObjectMapper YAML =
      new com.fasterxml.jackson.databind.ObjectMapper(new com.fasterxml.jackson.dataformat.yaml.YAMLFactory());

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

  /**
   * Kubernetes' GuaranteedUpdate: reads the object, lets {@code attempt} decide and write with a
   * compare-and-swap on the revision it read, and when another write came in between, reads
   * again and lets it decide again. An attempt whose caller pinned a resourceVersion finds the
   * new revision on its next read and fails with 409 itself, so a pinned write is never retried
   * over someone else's change.
   */
  private Written guaranteedUpdate(ResourceType type, String namespace, String name, java.util.function.Function<KeyValue, Written> attempt) {
    for (int tries = 0; ; tries++) {
      KeyValue current = currentOrNotFound(type, namespace, name);
      try {
        return attempt.apply(current);
      } catch (StorageException.NotFound e) {
        throw ApiException.notFound(type, name);
      } catch (StorageException.Conflict e) {
        if (tries >= MAX_RETRIES) {
          throw conflict(type, name);
        }
      } catch (StorageException e) {
        throw translate(e, type, name);
      }
    }
  }

  private static ApiException conflict(ResourceType type, String name) {
    return ApiException.conflict(type, name, "the object has been modified; please apply your changes to the latest version and try again");
  }

  /** Writes {@code desired} over {@code current}; throws StorageException.Conflict when it lost a race. */
  private Written replace(ResourceType type, String namespace, String name, KeyValue current, ObjectNode desired,
      boolean status, WriteOptions options, JsonNode applied) {
    ObjectNode old = served(type, current);
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
    ObjectNode meta = metadata(next);
    ObjectNode oldMeta = metadata(old);
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
    List<String> warnings = admit(type, name, old, next, options);
    JsonNode managed = applied != null ? applied
        : status ? oldMeta.get("managedFields")
        : FieldManager.update(old, next, options.fieldManager(), options.named(), nowSeconds(), next.path("apiVersion").asText(null));
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
        if (!contains(before, f)) {
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
      long rev = call(() -> storage.delete(key, current.modRevision()));
      meta.put("resourceVersion", Long.toString(rev));
      return new Written(next, false, warnings);
    }
    long rev = call(() -> storage.update(key, current.modRevision(), stored(type, next)));
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

  private static boolean contains(JsonNode array, JsonNode value) {
    for (JsonNode v : array) {
      if (v.equals(value)) {
        return true;
      }
    }
    return false;
  }

  /** Anything but metadata and status changed: the generation moves. */
  private static boolean specChanged(ObjectNode old, ObjectNode next) {
    ObjectNode a = old.deepCopy();
    ObjectNode b = next.deepCopy();
    a.remove(List.of("metadata", "status"));
    b.remove(List.of("metadata", "status"));
    return !sameJson(a, b);
  }

  // ---- delete ----

  /** The finalizer that holds an owner until the garbage collector has deleted its dependents. */
  public static final String FOREGROUND_FINALIZER = "foregroundDeletion";
  /** The finalizer that holds an owner until the garbage collector has released its dependents. */
  public static final String ORPHAN_FINALIZER = "orphan";

  /**
   * DELETE: with finalizers the object is only marked; otherwise it is removed. The propagation
   * policy says what happens to its dependents, as in Kubernetes: {@code Background} (the
   * default) removes the object now and the garbage collector its dependents after; {@code
   * Foreground} keeps it, with the {@value #FOREGROUND_FINALIZER} finalizer, until they are gone;
   * {@code Orphan} keeps it, with the {@value #ORPHAN_FINALIZER} finalizer, until they no longer
   * name it as their owner.
   */
  public Written delete(ResourceType type, String namespace, String name, ObjectNode deleteOptions, boolean dryRun) {
    Written w = deleteOnce(type, namespace, name, deleteOptions, dryRun);
    if (!dryRun) {
      for (DeleteListener l : deleteListeners) {
        l.deleted(type, namespace, name);
      }
    }
    return w;
  }

  /** Told of each delete that took effect (the object removed, or marked for deletion), after it did. */
  @FunctionalInterface
  public interface DeleteListener {
    /** Runs on the deleting thread, which may block; what it throws fails the delete's request. */
    void deleted(ResourceType type, String namespace, String name);
  }

  /** Tells {@code l} of every delete from now on. */
  public ResourceService onDelete(DeleteListener l) {
    deleteListeners.add(l);
    return this;
  }

  private Written deleteOnce(ResourceType type, String namespace, String name, ObjectNode deleteOptions, boolean dryRun) {
    JsonNode pre = deleteOptions == null ? null : deleteOptions.path("preconditions");
    String policy = propagationPolicy(type, name, deleteOptions);
    return guaranteedUpdate(type, namespace, name, current -> {
      ObjectNode obj = served(type, current);
      ObjectNode meta = metadata(obj);
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
        case "Foreground" -> FOREGROUND_FINALIZER;
        case "Orphan" -> ORPHAN_FINALIZER;
        default -> null;
      };
      if (held != null && !meta.hasNonNull("deletionTimestamp")) {
        ArrayNode finalizers = meta.path("finalizers") instanceof ArrayNode a ? a : meta.putArray("finalizers");
        if (!contains(finalizers, Json.NODES.textNode(held))) {
          finalizers.add(held);
        }
      }
      if (meta.path("finalizers").isArray() && !meta.path("finalizers").isEmpty()) {
        if (meta.hasNonNull("deletionTimestamp")) {
          return new Written(obj, false, List.of());
        }
        meta.put("deletionTimestamp", now());
        meta.put("deletionGracePeriodSeconds", 0);
        long rev = storage.update(current.key(), current.modRevision(), stored(type, obj));
        meta.put("resourceVersion", Long.toString(rev));
        return new Written(obj, false, List.of());
      }
      storage.delete(current.key(), current.modRevision());
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

  // ---- shared rules ----

  /** Defaults, prunes and validates {@code obj} (which replaces {@code old}, null for a create); returns warnings, throws on invalid input. */
  private List<String> admit(ResourceType type, String name, ObjectNode old, ObjectNode obj, WriteOptions options) {
    KindRules.mutate(type, obj);
    List<FieldError> errors = new ArrayList<>(MetadataValidation.validate(obj.path("metadata"),
        "rbac.authorization.k8s.io".equals(type.group())));
    StructuralSchema.Result r = StructuralSchema.apply(obj, type.schema());
    List<String> warnings = new ArrayList<>();
    if (!r.unknownFields().isEmpty()) {
      switch (options.fieldValidation()) {
        case "Strict" -> throw ApiException.badRequest("strict decoding error: "
            + String.join(", ", r.unknownFields().stream().map(f -> "unknown field \"" + f + "\"").toList()));
        case "Warn" -> r.unknownFields().forEach(f -> warnings.add("unknown field \"" + f + "\""));
        default -> { }
      }
    }
    errors.addAll(r.errors());
    if (r.errors().isEmpty()) {
      errors.addAll(KindRules.validate(type, obj));
    }
    if (!errors.isEmpty()) {
      throw ApiException.invalid(type, name.isEmpty() ? null : name, errors);
    }
    if (options.admission() != null) {
      options.admission().admit(type, old, obj);
    }
    return warnings;
  }

  /**
   * The body's kind and apiVersion must be those of the URL: either absent (the URL's are filled
   * in) or the same strings. A kind or apiVersion of another JSON type, or an empty apiVersion,
   * is refused, as the Kubernetes decoder refuses it.
   */
  private static void checkTypeMeta(ResourceType type, ObjectNode obj) {
    JsonNode apiVersionNode = obj.get("apiVersion");
    JsonNode kindNode = obj.get("kind");
    if (apiVersionNode != null && (!apiVersionNode.isTextual() || apiVersionNode.asText().isEmpty())) {
      throw ApiException.badRequest("apiVersion must be \"" + type.apiVersion() + "\", not " + apiVersionNode);
    }
    if (kindNode != null && (!kindNode.isTextual() || kindNode.asText().isEmpty())) {
      throw ApiException.badRequest("kind must be \"" + type.kind() + "\", not " + kindNode);
    }
    String apiVersion = apiVersionNode == null ? "" : apiVersionNode.asText();
    String kind = kindNode == null ? "" : kindNode.asText();
    if (!apiVersion.isEmpty() && !apiVersion.equals(type.apiVersion())) {
      throw ApiException.badRequest("the API version in the data (" + apiVersion + ") does not match the expected API version ("
          + type.apiVersion() + ")");
    }
    if (!kind.isEmpty() && !kind.equals(type.kind())) {
      throw ApiException.badRequest("the kind in the data (" + kind + ") does not match the expected kind (" + type.kind() + ")");
    }
    obj.put("apiVersion", type.apiVersion());
    obj.put("kind", type.kind());
  }

  private static ObjectNode metadata(ObjectNode obj) {
    JsonNode meta = obj.get("metadata");
    if (meta == null || meta.isNull()) {
      return obj.putObject("metadata");
    }
    if (!meta.isObject()) {
      throw ApiException.badRequest("metadata must be an object, not " + meta.getNodeType().name().toLowerCase(Locale.ROOT));
    }
    return (ObjectNode) meta;
  }

  /** The metadata of an object a client sent, checked to decode strictly as ObjectMeta. */
  private static ObjectNode requestMetadata(ObjectNode obj) {
    ObjectNode meta = metadata(obj);
    StrictMetadata.check(meta);
    return meta;
  }

  private static String checkNamespace(ResourceType type, String namespace, ObjectNode meta) {
    if (!type.namespaced()) {
      meta.remove("namespace");
      return null;
    }
    Objects.requireNonNull(namespace, "namespace");
    String given = meta.path("namespace").asText("");
    if (!given.isEmpty() && !given.equals(namespace)) {
      throw ApiException.badRequest("the namespace of the provided object (" + given + ") does not match the namespace sent on the request ("
          + namespace + ")");
    }
    meta.put("namespace", namespace);
    return namespace;
  }

  private static Long resourceVersionOf(ObjectNode meta) {
    JsonNode rv = meta.get("resourceVersion");
    if (rv == null || rv.isNull() || rv.asText().isEmpty()) {
      return null;
    }
    try {
      return Long.parseLong(rv.asText());
    } catch (NumberFormatException e) {
      throw ApiException.badRequest("metadata.resourceVersion \"" + rv.asText() + "\" is not a resource version this server issued");
    }
  }

  private KeyValue currentOrNotFound(ResourceType type, String namespace, String name) {
    return call(() -> storage.get(type.key(namespace, name))).orElseThrow(() -> ApiException.notFound(type, name));
  }

  private static <T> T call(java.util.function.Supplier<T> op) {
    try {
      return op.get();
    } catch (StorageException.Conflict | StorageException.NotFound e) {
      throw e;
    } catch (StorageException e) {
      throw translate(e, null, null);
    }
  }

  static ApiException translate(StorageException e, ResourceType type, String name) {
    return switch (e) {
      case StorageException.NotFound nf -> type == null ? ApiException.notFound(nf.getMessage()) : ApiException.notFound(type, name);
      case StorageException.KeyExists ke -> type == null ? ApiException.badRequest(ke.getMessage()) : ApiException.alreadyExists(type, name);
      case StorageException.Conflict c -> type == null ? ApiException.badRequest(c.getMessage())
          : ApiException.conflict(type, name, "the object has been modified; please apply your changes to the latest version and try again");
      case StorageException.Compacted c -> ApiException.gone("too old resource version: " + c.getMessage());
      case StorageException.TooLarge t -> ApiException.tooLarge(t.getMessage());
      case StorageException.Unavailable u -> ApiException.unavailable("storage is unavailable: " + u.getMessage());
    };
  }
}
