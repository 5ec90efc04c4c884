package dev.procurator.api.v1alpha1;

import com.fasterxml.jackson.annotation.JsonInclude;
import io.fabric8.generator.annotation.Default;
import io.fabric8.generator.annotation.Min;
import io.fabric8.generator.annotation.Pattern;
import io.fabric8.generator.annotation.Required;
import java.util.List;

/** The VMs a Cluster should have and how changes reach them. */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record ClusterSpec(
    @Required List<Template> templates,
    Strategy strategy,
    @Default("true") Boolean autoRollback,
    @Min(0) Integer revisionHistoryLimit) {

  /** A named group of identical VMs. */
  @JsonInclude(JsonInclude.Include.NON_NULL)
  public record Template(
      @Required @Pattern(Names.DNS1123_LABEL_PATTERN) String name,
      @Min(0) Integer replicas,
      @Required VMSpec spec) {}

  /** How VMs are replaced when a template changes. */
  @JsonInclude(JsonInclude.Include.NON_NULL)
  public record Strategy(
      @Default("RollingUpdate") RolloutStrategyType type,
      @Min(0) Integer maxUnavailable,
      @Min(0) Integer maxSurge,
      List<Integer> canarySteps) {}
}
