package dev.procurator.api.v1alpha1;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import io.fabric8.generator.annotation.Default;
import io.fabric8.generator.annotation.Max;
import io.fabric8.generator.annotation.Min;
import io.fabric8.generator.annotation.Pattern;
import io.fabric8.generator.annotation.Required;
import io.fabric8.kubernetes.api.model.IntOrString;
import java.util.List;

/** The VMs a Cluster should have and how changes reach them. */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record ClusterSpec(
    @Required @JsonPropertyDescription("Named groups of identical VMs; each rolls out on its own.") List<Template> templates,
    Strategy strategy,
    @Default("true") @JsonPropertyDescription("Roll a revision that fails back to the last one that was fully available.")
        Boolean autoRollback,
    @Min(0) @Default("10") @JsonPropertyDescription("Old revisions kept per template (ControllerRevisions), besides the live ones.")
        Integer revisionHistoryLimit,
    @Min(1) @Default("600") @JsonPropertyDescription("Seconds a rollout may go without progress before it counts as failed.")
        Integer progressDeadlineSeconds,
    @JsonPropertyDescription("When true, the controller makes no change to the Cluster's VMs.") Boolean paused) {

  /** This spec with {@code t} as its templates. */
  public ClusterSpec withTemplates(List<Template> t) {
    return new ClusterSpec(t, strategy, autoRollback, revisionHistoryLimit, progressDeadlineSeconds, paused);
  }

  /** The most replicas one template may ask for. */
  public static final int MAX_REPLICAS = 100;

  /** A named group of identical VMs. */
  @JsonInclude(JsonInclude.Include.NON_NULL)
  public record Template(
      @Required @Pattern(Names.DNS1123_LABEL_PATTERN) String name,
      @Min(0) @Max(MAX_REPLICAS) @Default("1") Integer replicas,
      @Required VMSpec spec) {

    public Template withSpec(VMSpec s) {
      return new Template(name, replicas, s);
    }
  }

  /** How VMs are replaced when a template changes. */
  @JsonInclude(JsonInclude.Include.NON_NULL)
  public record Strategy(
      @Default("RollingUpdate") RolloutStrategyType type,
      @JsonPropertyDescription("RollingUpdate: VMs (a count, or a percentage of replicas, rounded down) that may be unavailable; default 25%.")
          IntOrString maxUnavailable,
      @JsonPropertyDescription("RollingUpdate: VMs (a count, or a percentage of replicas, rounded up) above replicas; default 25%.")
          IntOrString maxSurge,
      @Min(0) @JsonPropertyDescription("Seconds a VM must have been Healthy before it counts as available.") Integer minReadySeconds,
      @JsonPropertyDescription("BlueGreen: promote once every new VM is available (the default); false waits for pctl rollout promote.")
          Boolean autoPromotion,
      @Min(0) @JsonPropertyDescription("BlueGreen: seconds the old VMs stay after promotion (default 30).") Integer scaleDownDelaySeconds,
      @JsonPropertyDescription("Canary: the steps, in order.") List<Step> steps) {}

  /** One canary step: exactly one of replicas, pause and analysis. */
  @JsonInclude(JsonInclude.Include.NON_NULL)
  public record Step(
      @Min(0) @Max(MAX_REPLICAS) @JsonPropertyDescription("Run this many VMs of the new revision.") Integer replicas,
      @JsonPropertyDescription("Wait; without seconds, until pctl rollout promote.") Pause pause,
      @JsonPropertyDescription("Every new VM must stay Healthy, with no restart, for this long.") Analysis analysis) {}

  /** A canary pause. */
  @JsonInclude(JsonInclude.Include.NON_NULL)
  public record Pause(@Min(0) Integer seconds) {}

  /** A canary analysis. */
  @JsonInclude(JsonInclude.Include.NON_NULL)
  public record Analysis(@Required @Min(1) Integer seconds) {}
}
