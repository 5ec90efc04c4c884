package dev.procurator.api.v1alpha1;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import io.fabric8.generator.annotation.Default;
import io.fabric8.generator.annotation.Min;
import io.fabric8.generator.annotation.Pattern;
import io.fabric8.generator.annotation.Required;

/**
 * Where the desired state lives, and how it is kept.
 *
 * @param url {@code file://} (a bare repository on the controller's host), {@code http(s)://} (smart HTTP) or {@code ssh://}
 * @param ref a branch ({@code main} or {@code refs/heads/main}), a tag ({@code v1.2} or {@code refs/tags/v1.2}) or a
 *     full commit SHA; a short name is looked up as a branch first, then as a tag
 * @param path the folder whose {@code .yaml}, {@code .yml} and {@code .json} files, recursively, are the manifests
 * @param intervalSeconds how often the remote is fetched (default 60); a webhook call syncs at once
 * @param prune delete what an earlier commit applied and this one no longer has, and everything on deletion
 * @param secretRef a Secret in the same namespace: {@code username}/{@code password} for HTTPS, or
 *     {@code identity}/{@code known_hosts} for SSH
 * @param suspend stop syncing, leaving what was applied in place
 * @param driftPolicy {@code Correct} (default) puts back fields git sets that someone changed; {@code Detect} only reports them
 * @param targetNamespace the namespace of manifests that name none (default: the GitRepository's own)
 * @param webhookSecretRef a Secret in the same namespace whose {@code token} signs webhook calls (HMAC-SHA256 of the body)
 * @param build a Build per new commit, of the repository's flake
 * @param source {@code Manifests} (default): the YAML and JSON files under {@code path}; {@code Flake}: the list
 *     {@code procurator.resources} of the flake in {@code path} ({@code nix eval --json .#procurator.resources})
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record GitRepositorySpec(
    @Required String url,
    @Default("main") String ref,
    @Default(".") String path,
    @Min(1) Integer intervalSeconds,
    @Default("true") Boolean prune,
    SecretRef secretRef,
    Boolean suspend,
    DriftPolicy driftPolicy,
    @Pattern("^[a-z0-9]([-a-z0-9]*[a-z0-9])?$") String targetNamespace,
    SecretRef webhookSecretRef,
    BuildTemplate build,
    Source source) {

  public static final int DEFAULT_INTERVAL_SECONDS = 60;

  /** Short form for tests and tools: url, ref, path, interval and prune. */
  public GitRepositorySpec(String url, String ref, String path, Integer intervalSeconds, Boolean prune) {
    this(url, ref, path, intervalSeconds, prune, null, null, null, null, null, null, null);
  }

  public GitRepositorySpec(String url, String ref, String path, Integer intervalSeconds, Boolean prune, SecretRef secretRef, Boolean suspend,
      DriftPolicy driftPolicy, String targetNamespace, SecretRef webhookSecretRef) {
    this(url, ref, path, intervalSeconds, prune, secretRef, suspend, driftPolicy, targetNamespace, webhookSecretRef, null, null);
  }

  /** Where a commit's manifests come from. */
  public enum Source {
    @JsonProperty("Manifests") MANIFESTS,
    @JsonProperty("Flake") FLAKE
  }

  public GitRepositorySpec withSource(Source s) {
    return new GitRepositorySpec(url, ref, path, intervalSeconds, prune, secretRef, suspend, driftPolicy, targetNamespace, webhookSecretRef, build, s);
  }

  /** Whether the manifests are a flake's {@code procurator.resources}. */
  public boolean flake() {
    return source == Source.FLAKE;
  }

  /**
   * The Build each new commit gets, named {@code REPO-SHA12}.
   *
   * @param attributes the flake attributes to build
   * @param dir the flake's folder in the repository (default: its root)
   * @param deploy the Cluster template a successful Build sets the closure of; git's manifest of that template
   *     leaves {@code boot} out, and syncs keep the deployed one
   * @param keep how many of these Builds are kept (default 5): the oldest finished ones go
   */
  @JsonInclude(JsonInclude.Include.NON_NULL)
  public record BuildTemplate(@Required java.util.List<String> attributes, String dir, BuildSpec.Deploy deploy, @Min(1) Integer keep) {
    public int kept() {
      return keep == null ? 5 : keep;
    }
  }

  public GitRepositorySpec withBuild(BuildTemplate b) {
    return new GitRepositorySpec(url, ref, path, intervalSeconds, prune, secretRef, suspend, driftPolicy, targetNamespace, webhookSecretRef, b, source);
  }

  /** A Secret in the GitRepository's namespace. */
  @JsonInclude(JsonInclude.Include.NON_NULL)
  public record SecretRef(@Required String name) {}

  /** What a sync does about fields git sets that were changed by someone else. */
  public enum DriftPolicy {
    @JsonProperty("Correct") CORRECT,
    @JsonProperty("Detect") DETECT
  }

  public GitRepositorySpec withRef(String newRef) {
    return new GitRepositorySpec(url, newRef, path, intervalSeconds, prune, secretRef, suspend, driftPolicy, targetNamespace, webhookSecretRef, build, source);
  }

  public GitRepositorySpec withSuspend(Boolean s) {
    return new GitRepositorySpec(url, ref, path, intervalSeconds, prune, secretRef, s, driftPolicy, targetNamespace, webhookSecretRef, build, source);
  }

  public GitRepositorySpec withDriftPolicy(DriftPolicy d) {
    return new GitRepositorySpec(url, ref, path, intervalSeconds, prune, secretRef, suspend, d, targetNamespace, webhookSecretRef, build, source);
  }

  public GitRepositorySpec withSecretRef(String name) {
    return new GitRepositorySpec(url, ref, path, intervalSeconds, prune, name == null ? null : new SecretRef(name), suspend, driftPolicy,
        targetNamespace, webhookSecretRef, build, source);
  }

  public GitRepositorySpec withWebhookSecretRef(String name) {
    return new GitRepositorySpec(url, ref, path, intervalSeconds, prune, secretRef, suspend, driftPolicy, targetNamespace,
        name == null ? null : new SecretRef(name), build, source);
  }

  public GitRepositorySpec withTargetNamespace(String ns) {
    return new GitRepositorySpec(url, ref, path, intervalSeconds, prune, secretRef, suspend, driftPolicy, ns, webhookSecretRef, build, source);
  }

  public int interval() {
    return intervalSeconds == null ? DEFAULT_INTERVAL_SECONDS : intervalSeconds;
  }

  public boolean pruning() {
    return prune == null || prune;
  }

  public boolean suspended() {
    return Boolean.TRUE.equals(suspend);
  }

  public boolean correctsDrift() {
    return driftPolicy != DriftPolicy.DETECT;
  }
}
