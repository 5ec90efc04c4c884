/**
 * pctl, the command line: {@code up} runs the components on this host; {@code apply}, {@code
 * get}, {@code describe} and {@code delete} talk to any Procurator API server through the
 * kubeconfig, with the same exit codes for the same failures.
 */
package dev.procurator.pctl;
