/**
 * The HTTP face of the server: Kubernetes paths, discovery and OpenAPI documents, Table output,
 * watch streams ({@link dev.procurator.apiserver.rest.WatchEndpoint}), authentication and
 * authorization ({@link dev.procurator.apiserver.rest.HttpApi}), encryption key administration
 * ({@link dev.procurator.apiserver.rest.KeyAdministration}), and the one place where failures
 * become {@code Status} bodies ({@link dev.procurator.apiserver.rest.Responses}). Request work runs
 * on virtual threads; the Vert.x event loops only read requests and write responses.
 */
package dev.procurator.apiserver.rest;
