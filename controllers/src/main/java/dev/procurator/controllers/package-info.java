/**
 * The control loops that run beside the API server. {@link
 * dev.procurator.controllers.ControllerManager} runs them while it holds the controllers' leader
 * Lease: the scheduler ({@link dev.procurator.controllers.scheduler}), node lifecycle ({@link
 * dev.procurator.controllers.nodes}), builds ({@link dev.procurator.controllers.builds}), cluster
 * rollouts ({@link dev.procurator.controllers.clusters}), GitOps ({@link
 * dev.procurator.controllers.gitops}) and the garbage collector ({@link
 * dev.procurator.controllers.gc}). Each loop is a pure decision on the runtime in {@code
 * dev.procurator.api.runtime}.
 */
package dev.procurator.controllers;
