/**
 * The control loops that run beside the API server: {@link
 * dev.procurator.controllers.ControllerManager} runs the scheduler ({@link
 * dev.procurator.controllers.scheduler}) and the node lifecycle controller ({@link
 * dev.procurator.controllers.nodes}) while it holds the controllers' leader Lease.
 */
package dev.procurator.controllers;
