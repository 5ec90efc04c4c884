package dev.procurator.api.v1alpha1;

import com.fasterxml.jackson.annotation.JsonIgnore;
import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import io.fabric8.generator.annotation.Max;
import io.fabric8.generator.annotation.Min;
import io.fabric8.generator.annotation.Required;
import java.util.List;
import java.util.Map;

/**
 * What to build, where, and what to do with the result.
 *
 * @param flake a flake reference ({@code git+https://host/repo?rev=SHA}, {@code path:/src}); or give {@code source}
 * @param attributes the flake output attributes to build ({@code packages.x86_64-linux.web}, or {@code web})
 * @param cache the binary cache URL the outputs are pushed to, one an admin registered as a {@link BinaryCache}
 *     (default: the builder's own cache)
 * @param cacheSecretRef a Secret whose {@code token} is the cache's push token (default: the builder's own); used only
 *     if the Build's creator may get it
 * @param nodeSelector labels a builder node must have, beside {@code procurator.dev/builder=true}
 * @param source a GitRepository and a commit to build, instead of {@code flake}
 * @param timeoutSeconds how long one attempt may take (default 3600)
 * @param backoffLimit how many times a failed build is tried again, with exponential backoff (default 2); an
 *     evaluation error is never retried
 * @param deploy the Cluster template whose {@code boot.closure} becomes the output on success
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record BuildSpec(
    @JsonPropertyDescription("Flake reference, for example git+https://host/repo?rev=SHA; or give source.") String flake,
    @Required @JsonPropertyDescription("Flake output attributes to build.") List<String> attributes,
    @JsonPropertyDescription("Binary cache URL the results are copied to: a registered BinaryCache's (default: the builder's own cache).") String cache,
    SecretRef cacheSecretRef,
    Map<String, String> nodeSelector,
    Source source,
    @Min(1) Integer timeoutSeconds,
    @Min(0) @Max(20) Integer backoffLimit,
    Deploy deploy) {

  public static final int DEFAULT_TIMEOUT_SECONDS = 3600;
  public static final int DEFAULT_BACKOFF_LIMIT = 2;

  /** The short form: a flake reference and its attributes. */
  public BuildSpec(String flake, List<String> attributes) {
    this(flake, attributes, null, null, null, null, null, null, null);
  }

  /** A commit of a GitRepository in the Build's namespace; {@code dir} is the flake's folder in it. */
  @JsonInclude(JsonInclude.Include.NON_NULL)
  public record Source(@Required String gitRepository, @Required String commit, String dir) {}

  /** Where a successful Build's output goes: the template's {@code boot.closure}; {@code attribute} when several are built. */
  @JsonInclude(JsonInclude.Include.NON_NULL)
  public record Deploy(@Required String cluster, @Required String template, String attribute) {}

  /** A Secret in the Build's namespace. */
  @JsonInclude(JsonInclude.Include.NON_NULL)
  public record SecretRef(@Required String name) {}

  @JsonIgnore
  public int timeout() {
    return timeoutSeconds == null ? DEFAULT_TIMEOUT_SECONDS : timeoutSeconds;
  }

  @JsonIgnore
  public int retries() {
    return backoffLimit == null ? DEFAULT_BACKOFF_LIMIT : backoffLimit;
  }

  public BuildSpec withDeploy(Deploy d) {
    return new BuildSpec(flake, attributes, cache, cacheSecretRef, nodeSelector, source, timeoutSeconds, backoffLimit, d);
  }

  public BuildSpec withSource(Source s) {
    return new BuildSpec(flake, attributes, cache, cacheSecretRef, nodeSelector, s, timeoutSeconds, backoffLimit, deploy);
  }

  public BuildSpec withLimits(Integer timeout, Integer backoff) {
    return new BuildSpec(flake, attributes, cache, cacheSecretRef, nodeSelector, source, timeout, backoff, deploy);
  }

  public BuildSpec withCache(String url, SecretRef secret) {
    return new BuildSpec(flake, attributes, url, secret, nodeSelector, source, timeoutSeconds, backoffLimit, deploy);
  }

  public BuildSpec withNodeSelector(Map<String, String> s) {
    return new BuildSpec(flake, attributes, cache, cacheSecretRef, s, source, timeoutSeconds, backoffLimit, deploy);
  }
}
