/**
 * The Procurator API server: Kubernetes-style resources in etcd or an embedded store, served
 * over the Kubernetes API so that kubectl, client-go and the fabric8 client work unchanged.
 * {@link dev.procurator.apiserver.ApiServer} wires the parts together from an {@link
 * dev.procurator.apiserver.ApiServerConfig}.
 */
package dev.procurator.apiserver;
