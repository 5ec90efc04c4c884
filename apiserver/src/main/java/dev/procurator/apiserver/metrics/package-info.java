/**
 * What the API server measures, under kube-apiserver's metric names so that dashboards and alerts
 * written for Kubernetes read it unchanged: storage latency ({@link MeteredStorage}) and objects
 * per kind ({@link StorageObjects}). The request metrics are taken where requests are routed, in
 * {@code rest}.
 */
package dev.procurator.apiserver.metrics;
