/**
 * pctl, the command line: {@code up} runs the components on this host; {@code apply}, {@code
 * get}, {@code describe} and {@code delete} talk to any Procurator API server through the
 * kubeconfig, with the same exit codes for the same failures. Options that several server
 * commands take are picocli mixins declared once ({@code BuildSandboxOptions} on {@code up} and
 * {@code agent}, {@code NodeGracePeriodOption} on {@code up} and {@code controllers}).
 */
package dev.procurator.pctl;
