/**
 * The node's builder: runs the Builds placed on this node with the real nix client (evaluate,
 * ask the cache, build, push), streams their logs, and reports progress in the Build's status.
 * {@link dev.procurator.nodeagent.build.BuildStep} decides, {@link
 * dev.procurator.nodeagent.build.BuildRun} does the slow part off the reconcile workers.
 */
package dev.procurator.nodeagent.build;
