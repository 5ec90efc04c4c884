package dev.procurator.api.v1alpha1;

import com.fasterxml.jackson.annotation.JsonInclude;
import io.fabric8.generator.annotation.Default;
import io.fabric8.generator.annotation.Min;
import io.fabric8.generator.annotation.Required;

/** Where the desired state lives. */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record GitRepositorySpec(
    @Required String url,
    @Default("main") String ref,
    @Default(".") String path,
    @Min(1) Integer intervalSeconds,
    @Default("true") Boolean prune) {}
