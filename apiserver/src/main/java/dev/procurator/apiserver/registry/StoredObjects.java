package dev.procurator.apiserver.registry;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.procurator.apiserver.resource.ResourceType;
import dev.procurator.apiserver.storage.KeyValue;
import dev.procurator.apiserver.storage.Storage;
import dev.procurator.apiserver.storage.StorageException;
import java.time.Clock;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.function.Function;
import java.util.function.Supplier;

/**
 * The verbs' one way to their {@link Storage}: objects as each type serves them and the bytes
 * stored for them (the type's conversion applied), storage failures as {@link ApiException}s,
 * Kubernetes' GuaranteedUpdate loop, and the clock timestamps are read from.
 *
 * <p>Thread-safe; its blocking methods block on storage.
 */
final class StoredObjects {
  /** How often a write that lost a race to another is tried again before it answers 409. */
  static final int MAX_RETRIES = 16;

  private final Storage storage;
  private final Clock clock;

  StoredObjects(Storage storage, Clock clock) {
    this.storage = storage;
    this.clock = clock;
  }

  Storage storage() {
    return storage;
  }

  /** Now, to the second, as metadata timestamps and managedFields times are written. */
  String now() {
    return Instant.now(clock).truncatedTo(ChronoUnit.SECONDS).toString();
  }

  /** The stored object as {@code type} serves it, with its resourceVersion. */
  static ObjectNode served(ResourceType type, KeyValue kv) {
    ObjectNode o = Codec.decode(kv);
    return type.conversion() == null ? o : type.conversion().toServed(o);
  }

  /** The bytes to store for {@code object} as {@code type} serves it. */
  static byte[] stored(ResourceType type, ObjectNode object) {
    return Codec.encode(type.conversion() == null ? object : type.conversion().toStorage(object.deepCopy()));
  }

  /** What a client of {@code type} reads for {@code stored} bytes at revision {@code rev}. */
  static byte[] servedBytes(ResourceType type, byte[] stored, long rev) {
    byte[] raw = Codec.raw(stored, rev);
    return type.conversion() == null ? raw : Json.bytes(type.conversion().toServed(Json.readStored(raw)));
  }

  KeyValue currentOrNotFound(ResourceType type, String namespace, String name) {
    return call(() -> storage.get(type.key(namespace, name))).orElseThrow(() -> ApiException.notFound(type, name));
  }

  /**
   * Kubernetes' GuaranteedUpdate: reads the object, lets {@code attempt} decide and write with a
   * compare-and-swap on the revision it read, and when another write came in between, reads
   * again and lets it decide again. An attempt whose caller pinned a resourceVersion finds the
   * new revision on its next read and fails with 409 itself, so a pinned write is never retried
   * over someone else's change.
   */
  Written guaranteedUpdate(ResourceType type, String namespace, String name, Function<KeyValue, Written> attempt) {
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

  /** 409 for a write made over a version of the object that is no longer the latest. */
  static ApiException conflict(ResourceType type, String name) {
    return ApiException.conflict(type, name, "the object has been modified; please apply your changes to the latest version and try again");
  }

  /** Runs a storage call; Conflict and NotFound pass as they are (GuaranteedUpdate handles them), the rest become ApiExceptions. */
  static <T> T call(Supplier<T> op) {
    try {
      return op.get();
    } catch (StorageException.Conflict | StorageException.NotFound e) {
      throw e;
    } catch (StorageException e) {
      throw translate(e, null, null);
    }
  }

  /** Waits for one of the verbs' futures; its ApiException is thrown as it is. */
  static <T> T await(CompletableFuture<T> f) {
    try {
      return f.get();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw ApiException.unavailable("interrupted while waiting for storage");
    } catch (ExecutionException e) {
      throw ApiException.unwrap(e.getCause());
    }
  }

  /** The ApiException a storage failure is answered with; {@code type} and {@code name}, when known, name the object. */
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
