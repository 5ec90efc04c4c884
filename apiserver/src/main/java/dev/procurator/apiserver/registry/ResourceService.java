package dev.procurator.apiserver.registry;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.procurator.apiserver.resource.ResourceType;
import dev.procurator.apiserver.storage.Storage;
import java.time.Clock;
import java.util.concurrent.CompletableFuture;

/**
 * The Kubernetes verbs for every resource type, over one {@link Storage}: the one door callers
 * use, each verb carried out by its own class ({@link ObjectReader}, {@link ObjectCreator},
 * {@link ObjectUpdater}, {@link ServerSideApply}, {@link ObjectDeleter}) over the checks and
 * storage access they share ({@link WriteChecks}, {@link StoredObjects}).
 *
 * <p>Blocking and thread-safe; call from worker or virtual threads. Every failure is an {@link
 * ApiException}.
 */
public final class ResourceService {
  /** The finalizer that holds an owner until the garbage collector has deleted its dependents. */
  public static final String FOREGROUND_FINALIZER = "foregroundDeletion";
  /** The finalizer that holds an owner until the garbage collector has released its dependents. */
  public static final String ORPHAN_FINALIZER = "orphan";

  private final StoredObjects store;
  private final ObjectReader reader;
  private final ObjectCreator creator;
  private final ObjectUpdater updater;
  private final ServerSideApply applier;
  private final ObjectDeleter deleter;

  public ResourceService(Storage storage, Clock clock) {
    this.store = new StoredObjects(storage, clock);
    this.reader = new ObjectReader(store);
    this.creator = new ObjectCreator(store);
    this.updater = new ObjectUpdater(store);
    this.applier = new ServerSideApply(store, creator, updater);
    this.deleter = new ObjectDeleter(store);
  }

  public Storage storage() {
    return store.storage();
  }

  // ---- reads ----

  public ObjectNode get(ResourceType type, String namespace, String name) {
    return reader.get(type, namespace, name);
  }

  public ListResult list(ResourceType type, String namespace, ListOptions options) {
    return reader.list(type, namespace, options);
  }

  // ---- writes ----

  /** POST, waiting for storage; see {@link #createAsync}. */
  public Written create(ResourceType type, String namespace, ObjectNode body, WriteOptions options) {
    return StoredObjects.await(createAsync(type, namespace, body, options));
  }

  /**
   * POST: {@code body} becomes the stored object (it is changed in place). The object is checked
   * on the calling thread and an invalid one is thrown at once as an {@link ApiException}; what
   * storage refuses fails the future with one. Never blocks.
   */
  public CompletableFuture<Written> createAsync(ResourceType type, String namespace, ObjectNode body, WriteOptions options) {
    return creator.createAsync(type, namespace, body, options, null);
  }

  /** PUT of the object ({@code status} false) or of its status subresource. */
  public Written update(ResourceType type, String namespace, String name, ObjectNode body, boolean status, WriteOptions options) {
    return updater.update(type, namespace, name, body, status, options);
  }

  public Written patch(ResourceType type, String namespace, String name, String contentType, byte[] patch, boolean status,
      WriteOptions options) {
    return updater.patch(type, namespace, name, contentType, patch, status, options);
  }

  /**
   * Server-side apply (PATCH with {@code application/apply-patch+yaml}): merges {@code body}, the
   * fields the manager wants set, into the object, creating it when it does not exist. Fields
   * other managers own and the body sets to other values fail the request with 409 and one cause
   * per field, unless the request forces them over.
   */
  public Written apply(ResourceType type, String namespace, String name, byte[] body, WriteOptions options) {
    return applier.apply(type, namespace, name, body, options);
  }

  // ---- delete ----

  /**
   * DELETE: with finalizers the object is only marked; otherwise it is removed. The propagation
   * policy says what happens to its dependents, as in Kubernetes: {@code Background} (the
   * default) removes the object now and the garbage collector its dependents after; {@code
   * Foreground} keeps it, with the {@value #FOREGROUND_FINALIZER} finalizer, until they are gone;
   * {@code Orphan} keeps it, with the {@value #ORPHAN_FINALIZER} finalizer, until they no longer
   * name it as their owner.
   */
  public Written delete(ResourceType type, String namespace, String name, ObjectNode deleteOptions, boolean dryRun) {
    return deleter.delete(type, namespace, name, deleteOptions, dryRun);
  }

  /** Told of each delete that took effect (the object removed, or marked for deletion), after it did. */
  @FunctionalInterface
  public interface DeleteListener {
    /** Runs on the deleting thread, which may block; what it throws fails the delete's request. */
    void deleted(ResourceType type, String namespace, String name);
  }

  /** Tells {@code l} of every delete from now on. */
  public ResourceService onDelete(DeleteListener l) {
    deleter.onDelete(l);
    return this;
  }
}
