/**
 * The verbs of the Kubernetes API over {@link dev.procurator.apiserver.storage.Storage}: get, list,
 * create, update, patch, delete and their rules (resourceVersion concurrency, generation, the
 * status subresource, finalizers, defaults, validation). Everything here is blocking and
 * transport-free; failures are {@link dev.procurator.apiserver.registry.ApiException}s that already
 * carry their HTTP code and Kubernetes {@code Status} body.
 */
package dev.procurator.apiserver.registry;
