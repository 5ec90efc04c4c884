package dev.procurator.pctl;

import picocli.CommandLine.Option;

/**
 * How long a node may be NotReady before its VMs are rescheduled: an option of every command that
 * runs the controllers, {@code pctl up} and {@code pctl controllers} (a picocli mixin).
 */
final class NodeGracePeriodOption {
  @Option(names = "--node-grace-period", defaultValue = "40",
      description = "Seconds a node may stay NotReady before its VMs are rescheduled (default: ${DEFAULT-VALUE}).")
  int graceSeconds;
}
