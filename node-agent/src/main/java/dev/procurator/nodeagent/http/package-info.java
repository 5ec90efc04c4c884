/**
 * The agent's HTTP endpoint ({@link dev.procurator.nodeagent.http.AgentHttp}): VM consoles for
 * the API server's {@code vms/NAME/log}, and Prometheus metrics.
 */
package dev.procurator.nodeagent.http;
