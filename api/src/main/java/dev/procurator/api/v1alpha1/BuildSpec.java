package dev.procurator.api.v1alpha1;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import io.fabric8.generator.annotation.Required;
import java.util.List;
import java.util.Map;

/** What to build and where to push it. */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record BuildSpec(
    @Required @JsonPropertyDescription("Flake reference, for example git+https://host/repo?ref=main.") String flake,
    @JsonPropertyDescription("Flake output attributes to build.") List<String> attributes,
    @JsonPropertyDescription("Binary cache URL the results are copied to.") String cache,
    Map<String, String> nodeSelector) {}
