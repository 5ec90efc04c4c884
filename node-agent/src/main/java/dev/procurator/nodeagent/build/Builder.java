package dev.procurator.nodeagent.build;

import dev.procurator.api.runtime.Decision;
import dev.procurator.api.runtime.EventRecorder;
import dev.procurator.api.runtime.Loop;
import dev.procurator.api.runtime.LoopQueue;
import dev.procurator.api.runtime.ObjectKey;
import dev.procurator.api.runtime.StatusWriter;
import dev.procurator.api.v1alpha1.BinaryCache;
import dev.procurator.api.v1alpha1.BinaryCacheSpec;
import dev.procurator.api.v1alpha1.Build;
import dev.procurator.api.v1alpha1.BuildAgreements;
import dev.procurator.api.v1alpha1.BuildSpec;
import dev.procurator.api.v1alpha1.BuildStatus;
import dev.procurator.api.v1alpha1.GitRepository;
import dev.procurator.api.v1alpha1.Identities;
import dev.procurator.api.v1alpha1.Secret;
import io.fabric8.kubernetes.api.model.authorization.v1.SubjectAccessReview;
import io.fabric8.kubernetes.api.model.authorization.v1.SubjectAccessReviewBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The builder's loop for the Builds placed on this node: {@link BuildStep#decide} is the whole
 * decision, from the Build and the attempt running here; {@link #act} starts or stops the {@link
 * BuildRun}, which runs on threads of its own and puts the Build back on the loop's queue at each
 * step. A Build that leaves this node (moved back to the queue, deleted) is {@linkplain #forget
 * forgotten}: its attempt is stopped.
 */
public final class Builder implements Loop<Build, BuildStatus, BuildStep.Action>, AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(Builder.class);

  /**
   * How this node builds.
   *
   * @param maxBuilds attempts run at once here
   * @param cacheUrl the cache a Build without {@code cache} pushes to (null: such Builds fail)
   * @param pushToken that cache's push token (null: none)
   * @param dir where Builds' logs and nix settings live
   * @param extraNixConf lines added to every attempt's nix.conf, or null
   * @param allowUnsandboxed build even where nix cannot sandbox (as root, within reach of everything on the host)
   * @param privateDirs folders no Build may name as its flake (the agent's data): a local flake in or around one is refused
   */
  public record Settings(int maxBuilds, String cacheUrl, String pushToken, Path dir, String extraNixConf, boolean allowUnsandboxed,
      List<Path> privateDirs) {
    public Settings(int maxBuilds, String cacheUrl, String pushToken, Path dir) {
      this(maxBuilds, cacheUrl, pushToken, dir, null, false, List.of());
    }

    public Settings {
      privateDirs = privateDirs == null ? List.of(dir) : java.util.stream.Stream.concat(privateDirs.stream(), java.util.stream.Stream.of(dir))
          .map(p -> p.toAbsolutePath().normalize()).distinct().toList();
    }

    /** The folder of a Build's logs on this node. */
    public Path dirOf(ObjectKey key) {
      return dir.resolve(key.namespace()).resolve(key.name());
    }

    /** The check of whether this host builds sandboxed, kept in its own folder under {@link #dir}. */
    public SandboxCheck sandboxCheck() {
      return new SandboxCheck(dir.resolve(".sandbox-check"));
    }
  }

  private final KubernetesClient client;
  private final String node;
  private final Settings settings;
  private final Clock clock;
  private final LoopQueue queue;
  private final EventRecorder events;
  private final Map<ObjectKey, BuildRun> runs = new ConcurrentHashMap<>();
  private final SandboxCheck sandbox;

  /**
   * @param sandbox whether this host builds sandboxed (one check for the node: a host that passes is remembered)
   * @param queue the loop's queue, where each attempt's steps put its Build
   */
  public Builder(KubernetesClient client, String node, Settings settings, SandboxCheck sandbox, Clock clock, LoopQueue queue,
      EventRecorder events) {
    this.events = events;
    this.client = client;
    this.node = node;
    this.settings = settings;
    this.sandbox = sandbox;
    this.clock = clock;
    this.queue = queue;
  }

  @Override
  public Decision<BuildStatus, BuildStep.Action> decide(Build build) {
    BuildRun run = runs.get(ObjectKey.of(build));
    return BuildStep.decide(build, node, run == null ? null : run.attempt(), run == null ? null : run.progress(), running() < settings.maxBuilds(),
        clock.instant());
  }

  @Override
  public Build act(Build build, BuildStep.Action action) {
    ObjectKey key = ObjectKey.of(build);
    return switch (action) {
      case BuildStep.Action.Start start -> start(key, build, start.evaluating());
      case BuildStep.Action.Stop stop -> {
        stop(key);
        yield build;
      }
      case BuildStep.Action.Forget forget -> {
        runs.remove(key);
        yield build;
      }
    };
  }

  @Override
  public void forget(ObjectKey key) {
    stop(key);
  }

  /** Writes the attempt's {@code Evaluating} status with the flake it builds, then starts it; a Build whose source is unusable fails. */
  private Build start(ObjectKey key, Build build, BuildStatus evaluating) {
    BuildRun.Plan plan;
    try {
      plan = plan(build);
    } catch (IllegalArgumentException bad) {
      return StatusWriter.write(client, build,
          BuildAgreements.failed(build.getSpec(), evaluating, false, "InvalidSource", bad.getMessage(), clock.instant()));
    } catch (Refused refused) {
      log.warn("build {}: refused: {}", key, refused.getMessage());
      Build written = StatusWriter.write(client, build,
          BuildAgreements.failed(build.getSpec(), evaluating, false, refused.reason, refused.getMessage(), clock.instant()));
      events.warning(written, refused.reason, refused.getMessage());
      return written;
    }
    // the status says Evaluating before nix runs: a conflict here starts nothing
    Build written = StatusWriter.write(client, build, evaluating.withResults(null, null, plan.flake()));
    // nix's cache (fetched sources) is shared within a namespace only: a flake sees no other namespace's sources
    BuildRun r = new BuildRun(key, written.getStatus().attemptNumber(), plan, settings.dirOf(key),
        settings.dir().resolve(".cache").resolve(key.namespace()), sandbox, queue::enqueue, clock);
    runs.put(key, r);
    log.info("build {}: attempt {} started ({} {})", key, r.attempt(), plan.flake(), plan.attributes());
    events.normal(written, "Started", "attempt " + r.attempt() + " on " + node + ": " + plan.flake());
    r.start();
    return written;
  }

  private void stop(ObjectKey key) {
    BuildRun run = runs.remove(key);
    if (run != null) {
      log.info("build {}: stopping attempt {} (the Build was deleted, finished or moved)", key, run.attempt());
      run.cancel();
    }
  }

  /** A Build this builder will not run as it stands: {@code reason} is its Ready condition's. */
  static final class Refused extends Exception {
    final String reason;

    Refused(String reason, String message) {
      super(message);
      this.reason = reason;
    }
  }

  /**
   * The flake reference, cache and token a Build runs with. The API server's admission already
   * refused what this refuses; the builder checks again before a token leaves it: the cache must be
   * a registered BinaryCache ({@code CacheNotRegistered}), and the Build's creator must be allowed
   * to get the Secret with the token ({@code SecretForbidden}, asked with a SubjectAccessReview).
   */
  BuildRun.Plan plan(Build build) throws Refused {
    BuildSpec spec = build.getSpec();
    String ns = build.getMetadata().getNamespace();
    String flake = spec.flake();
    if (spec.source() != null) {
      GitRepository repo = client.resources(GitRepository.class).inNamespace(ns).withName(spec.source().gitRepository()).get();
      if (repo == null) {
        throw new IllegalArgumentException("GitRepository " + ns + "/" + spec.source().gitRepository() + " does not exist");
      }
      flake = flakeRef(repo.getSpec().url(), repo.getSpec().ref(), spec.source().commit(), spec.source().dir());
    }
    String cache = spec.cache() != null ? spec.cache() : settings.cacheUrl();
    if (cache == null) {
      throw new IllegalArgumentException("the Build names no cache and builder " + node + " has none of its own");
    }
    if (spec.cache() != null) {
      List<String> registered = client.resources(BinaryCache.class).list().getItems().stream()
          .map(c -> c.getSpec() == null ? "" : c.getSpec().url()).toList();
      if (!BinaryCacheSpec.registered(spec.cache(), registered)) {
        throw new Refused("CacheNotRegistered", "spec.cache " + spec.cache() + " is not a registered BinaryCache: builders push only to "
            + "caches an admin registered (kubectl get binarycaches)");
      }
    }
    String token = settings.pushToken();
    if (spec.cacheSecretRef() != null) {
      mayGet(build, spec.cacheSecretRef().name());
      Secret secret = client.resources(Secret.class).inNamespace(ns).withName(spec.cacheSecretRef().name()).get();
      byte[] t = secret == null || secret.getSpec() == null ? null : secret.getSpec().decoded().get("token");
      if (t == null) {
        throw new IllegalArgumentException("Secret " + ns + "/" + spec.cacheSecretRef().name() + " has no key \"token\"");
      }
      token = new String(t, StandardCharsets.UTF_8).strip();
    } else if (spec.cache() != null) {
      token = null; // the node's own token is for the node's own cache only
    }
    return new BuildRun.Plan(flake, spec.attributes(), cache, token, Duration.ofSeconds(spec.timeout()), settings.extraNixConf(),
        localFlake(flake, settings.privateDirs()), settings.allowUnsandboxed());
  }

  /** Refuses unless the Build's creator ({@link Identities#REQUESTER}) may get Secret {@code name} in the Build's namespace. */
  private void mayGet(Build build, String name) throws Refused {
    String ns = build.getMetadata().getNamespace();
    Identities.User creator = Identities.User.ofAnnotation(
        build.getMetadata().getAnnotations() == null ? null : build.getMetadata().getAnnotations().get(Identities.REQUESTER));
    if (creator == null) {
      throw new Refused("SecretForbidden", "spec.cacheSecretRef names Secret \"" + name + "\", but the Build records no creator ("
          + Identities.REQUESTER + ") whose right to get it could be checked; create the Build again");
    }
    SubjectAccessReview review = client.authorization().v1().subjectAccessReview().create(new SubjectAccessReviewBuilder()
        .withNewSpec().withUser(creator.name()).withGroups(creator.groups())
        .withNewResourceAttributes().withVerb("get").withGroup("procurator.dev").withResource("secrets").withNamespace(ns).withName(name)
        .endResourceAttributes().endSpec().build());
    if (review.getStatus() == null || !Boolean.TRUE.equals(review.getStatus().getAllowed())) {
      throw new Refused("SecretForbidden", "spec.cacheSecretRef names Secret \"" + name + "\", which the Build's creator \"" + creator.name()
          + "\" may not get in namespace " + ns + ": the push token is not used");
    }
  }

  /**
   * The folder of a flake on this host ({@code path:}, {@code git+file:}, {@code file:} or a bare
   * path), or null for a remote one. A folder in or around one of {@code privateDirs} is refused.
   */
  static Path localFlake(String flake, List<Path> privateDirs) {
    String f = flake.replaceFirst("^(git\\+)?(path|file):(//)?", "");
    if (f.equals(flake) && !flake.startsWith("/")) {
      return null;
    }
    int q = f.indexOf('?');
    Path p = Path.of(java.net.URLDecoder.decode(q < 0 ? f : f.substring(0, q), StandardCharsets.UTF_8)).toAbsolutePath().normalize();
    for (Path d : privateDirs) {
      if (p.startsWith(d) || d.startsWith(p)) {
        throw new IllegalArgumentException("flake " + flake + " is a folder of this builder's private data (" + d + "): builds may not read it");
      }
    }
    return p;
  }

  /** A locked flake reference to a commit of a git repository: {@code git+URL?ref=REF&rev=SHA[&dir=DIR]}. */
  static String flakeRef(String url, String ref, String commit, String dir) {
    if (commit == null || !commit.matches("[0-9a-f]{40}")) {
      throw new IllegalArgumentException("source.commit must be a full 40-character commit SHA, not \"" + commit + "\"");
    }
    StringBuilder out = new StringBuilder("git+").append(url).append("?");
    String branch = ref == null ? "main" : ref.replaceFirst("^refs/heads/", "");
    if (!branch.matches("[0-9a-f]{40}") && !branch.startsWith("refs/tags/")) {
      out.append("ref=").append(URLEncoder.encode(branch, StandardCharsets.UTF_8)).append('&');
    }
    out.append("rev=").append(commit);
    if (dir != null && !dir.isBlank() && !dir.equals(".")) {
      out.append("&dir=").append(URLEncoder.encode(dir, StandardCharsets.UTF_8));
    }
    return out.toString();
  }

  /** Attempts running here. */
  public int running() {
    return (int) runs.values().stream().filter(r -> !r.progress().done()).count();
  }

  @Override
  public void close() {
    // attempts stop with the agent: a restarted agent starts them over, a dead one's go back to the queue
    runs.values().forEach(BuildRun::cancel);
  }
}
