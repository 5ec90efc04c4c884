/**
 * The verbs of the Kubernetes API over {@link dev.procurator.apiserver.storage.Storage}: get, list,
 * create, update, patch, apply, delete and their rules (resourceVersion concurrency, generation, the
 * status subresource, finalizers, defaults, validation). Everything here is blocking and
 * transport-free; failures are {@link dev.procurator.apiserver.registry.ApiException}s that already
 * carry their HTTP code and Kubernetes {@code Status} body.
 *
 * <p>Callers use {@link dev.procurator.apiserver.registry.ResourceService}; behind it each verb is a
 * class of its own ({@code ObjectReader}, {@code ObjectCreator}, {@code ObjectUpdater},
 * {@code ServerSideApply}, {@code ObjectDeleter}), sharing the write checks and admission chain in
 * {@code WriteChecks} and storage access, conversion and GuaranteedUpdate in {@code StoredObjects}.
 */
package dev.procurator.apiserver.registry;
