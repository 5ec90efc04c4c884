package dev.procurator.pctl;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.procurator.apiserver.testing.TestNames;
import dev.procurator.api.runtime.Conditions;
import dev.procurator.api.v1alpha1.Build;
import dev.procurator.api.v1alpha1.BuildAgreements;
import dev.procurator.api.v1alpha1.BuildPhase;
import dev.procurator.api.v1alpha1.BuildSpec;
import dev.procurator.api.v1alpha1.Cluster;
import dev.procurator.api.v1alpha1.GitRepository;
import dev.procurator.api.v1alpha1.GitRepositorySpec;
import dev.procurator.api.v1alpha1.VM;
import dev.procurator.api.v1alpha1.VMPhase;
import dev.procurator.nodeagent.testing.Guest;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * The workflow Procurator exists for, on {@code pctl up} with the real nix client: a push to a
 * bare repository of {@code examples/gitops} is synced, built on this host's builder, pushed to
 * its binary cache, and rolled out; a bad commit does not get through. The tests follow one
 * repository's history, in order.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class BuildChainIT {
  static final String ATTR = "packages.x86_64-linux.web";
  static final String V1 = "1." + TestNames.random(10);
  private PctlUp up;
  private KubernetesClient client;
  private Path dir;
  private Path bare;
  private Path work;
  private String firstOutput;

  @BeforeAll
  void up() throws Exception {
    Path images = Guest.images();
    dir = Files.createTempDirectory("build-chain");
    // the builder builds into a store of its own, as a builder host would: the node must pull what it boots from the cache
    Path builderConf = dir.resolve("builder-nix.conf");
    Files.writeString(builderConf, "store = " + dir.resolve("builder-store") + "\nsandbox = true\nsandbox-paths = /bin /usr /lib /lib64\n");
    up = PctlUp.system("--images-dir", images.toString(), "--build-nix-conf", builderConf.toString());
    client = KubeClients.fromKubeconfig(up.kubeconfig());
    bare = dir.resolve("web.git");
    work = dir.resolve("work");
    git(dir, "init", "-q", "--bare", "-b", "main", bare.toString());
    ProcessBuilder prepare = new ProcessBuilder(Path.of("..", "examples", "gitops", "prepare.sh").toString(), work.toString())
        .redirectErrorStream(true);
    prepare.environment().put("PROCURATOR_IMAGES", images.resolve("hello").toString());
    Process p = prepare.start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(p.waitFor(300, TimeUnit.SECONDS)).isTrue();
    assertThat(p.exitValue()).as(out).isZero();
    // a version no earlier run built, so this host's store does not have it yet
    Files.writeString(work.resolve("guest.nix"), "{ version = \"" + V1 + "\"; healthy = true; }\n");
    git(work, "commit", "-qam", "guest " + V1);
    git(work, "remote", "add", "origin", bare.toString());
    git(work, "push", "-q", "origin", "main");
  }

  @AfterAll
  void down() throws Exception {
    if (client != null) {
      client.close();
    }
    if (up != null) {
      up.close();
    }
    if (dir != null) {
      new ProcessBuilder("chmod", "-R", "u+w", dir.toString()).start().waitFor(60, TimeUnit.SECONDS); // the builder's store is read-only
      dev.procurator.apiserver.testing.EtcdProcess.deleteTree(dir);
    }
  }

  private static String git(Path in, String... args) throws Exception {
    List<String> all = new ArrayList<>(List.of("git", "-c", "user.name=Test", "-c", "user.email=test@example.org"));
    all.addAll(List.of(args));
    Process p = new ProcessBuilder(all).directory(in.toFile()).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
    assertThat(p.exitValue()).as(String.join(" ", args) + ": " + out).isZero();
    return out.strip();
  }

  /** Commits a new guest.nix and pushes it; the commit's SHA. */
  private String push(String guestNix) throws Exception {
    Files.writeString(work.resolve("guest.nix"), guestNix);
    git(work, "commit", "-qam", "guest: " + guestNix.strip().replace('\n', ' '));
    git(work, "push", "-q", "origin", "main");
    return git(work, "rev-parse", "HEAD");
  }

  private void sync() throws Exception {
    assertThat(PctlRun.run(up.kubeconfig(), "sync", "gitrepository/web").code()).isZero();
  }

  private Build build(String name) {
    return client.resources(Build.class).inNamespace("default").withName(name).get();
  }

  private Build awaitFinished(String name) {
    await().atMost(Duration.ofMinutes(3)).until(() -> {
      Build b = build(name);
      return b != null && b.getStatus() != null && b.getStatus().phase() != null && b.getStatus().phase().finished();
    });
    return build(name);
  }

  private Cluster cluster() {
    return client.resources(Cluster.class).inNamespace("default").withName("web").get();
  }

  private String closure() {
    return cluster().getSpec().templates().getFirst().spec().boot().closure();
  }

  private List<VM> runningVms() {
    return client.resources(VM.class).inNamespace("default").withLabel("procurator.dev/cluster", "web").list().getItems().stream()
        .filter(v -> v.getMetadata().getDeletionTimestamp() == null && v.getStatus() != null && v.getStatus().phase() == VMPhase.RUNNING)
        .toList();
  }

  private int narinfo(String storePath) throws Exception {
    String token = Files.readString(up.dataDir.resolve("cache-read-token")).trim();
    String hash = storePath.substring("/nix/store/".length(), "/nix/store/".length() + 32);
    return HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + up.cachePort + "/" + hash + ".narinfo"))
        .header("Authorization", "Basic " + Base64.getEncoder().encodeToString(("nix:" + token).getBytes(StandardCharsets.UTF_8))).build(),
        HttpResponse.BodyHandlers.discarding()).statusCode();
  }

  @Test
  @Order(1)
  void aPushIsBuiltPushedToTheCacheAndRolledOut() throws Exception {
    String commit = git(work, "rev-parse", "HEAD");
    GitRepository repo = new GitRepository();
    repo.setMetadata(new ObjectMetaBuilder().withName("web").withNamespace("default").build());
    repo.setSpec(new GitRepositorySpec("file://" + bare, "main", "clusters", 3600, true)
        .withBuild(new GitRepositorySpec.BuildTemplate(List.of(ATTR), null, new BuildSpec.Deploy("web", "web", null), 3)));
    client.resource(repo).create();
    String name = "web-" + commit.substring(0, 12);
    Build b = awaitFinished(name);
    assertThat(b.getStatus().phase()).as(b.getStatus().message() + "\n" + b.getStatus().logTail()).isEqualTo(BuildPhase.SUCCEEDED);
    firstOutput = b.getStatus().outputs().get(ATTR);
    assertThat(firstOutput).startsWith("/nix/store/").endsWith("-web-guest-" + V1);
    assertThat(b.getStatus().cached()).isNull();
    assertThat(b.getStatus().nodeName()).isNotEmpty();
    assertThat(b.getStatus().startTime()).isNotNull();
    assertThat(b.getStatus().completionTime()).isNotNull();
    assertThat(b.getMetadata().getOwnerReferences()).singleElement().satisfies(o -> assertThat(o.getName()).isEqualTo("web"));
    // pushed: the cache has the closure, and the log of the build
    assertThat(narinfo(firstOutput)).isEqualTo(200);
    // built in the builder's own store, not the node's
    assertThat(Path.of(firstOutput)).doesNotExist();
    assertThat(dir.resolve("builder-store").resolve(firstOutput.substring(1))).exists();
    // deployed: the template boots the output, the Cluster names the commit, and a VM runs it, pulled from the cache
    await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> {
      assertThat(closure()).isEqualTo(firstOutput);
      assertThat(cluster().getMetadata().getAnnotations()).containsEntry(Cluster.GIT_COMMIT, commit);
    });
    await().atMost(Duration.ofMinutes(3)).untilAsserted(() -> assertThat(runningVms()).singleElement()
        .satisfies(v -> assertThat(v.getSpec().boot().closure()).isEqualTo(firstOutput)));
    assertThat(Files.readString(up.dataDir.resolve("up.log"))).contains("pulled closure " + firstOutput);
    assertThat(Path.of(firstOutput, "initrd")).exists();
    assertThat(Conditions.isTrue(build(name).getStatus().conditions(), BuildAgreements.DEPLOYED)).isTrue();
    // the log, as a user reads it
    PctlRun logs = PctlRun.run(up.kubeconfig(), "logs", "build/" + name);
    assertThat(logs.code()).as(logs.err()).isZero();
    assertThat(logs.out()).contains("built web guest version " + V1, "pushing the closures of " + ATTR);
    // and the log is in the cache, beside the derivation it built (as nix log --store would read it)
    java.util.regex.Matcher drv = java.util.regex.Pattern.compile("(/nix/store/[0-9a-z]{32}-web-guest-[^ ]+\\.drv)").matcher(logs.out());
    assertThat(drv.find()).as(logs.out()).isTrue();
    String token = Files.readString(up.dataDir.resolve("cache-read-token")).trim();
    HttpResponse<String> cached = HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + up.cachePort + "/log/"
            + Path.of(drv.group(1)).getFileName()))
        .header("Authorization", "Basic " + Base64.getEncoder().encodeToString(("nix:" + token).getBytes(StandardCharsets.UTF_8))).build(),
        HttpResponse.BodyHandlers.ofString());
    assertThat(cached.statusCode()).isEqualTo(200);
    assertThat(cached.body()).contains("built web guest version " + V1);
  }

  @Test
  @Order(2)
  void aSecondBuildOfTheSameCommitIsAllCachedAndBuildsNothing() throws Exception {
    String commit = git(work, "rev-parse", "HEAD");
    Build again = new Build();
    again.setMetadata(new ObjectMetaBuilder().withName("web-again").withNamespace("default").build());
    again.setSpec(new BuildSpec(null, List.of(ATTR)).withSource(new BuildSpec.Source("web", commit, null)));
    client.resource(again).create();
    Build b = awaitFinished("web-again");
    assertThat(b.getStatus().phase()).as(b.getStatus().message()).isEqualTo(BuildPhase.SUCCEEDED);
    assertThat(b.getStatus().cached()).containsExactly(ATTR);
    assertThat(b.getStatus().outputs()).containsEntry(ATTR, firstOutput);
    assertThat(b.getStatus().message()).contains("nothing built");
    assertThat(PctlRun.run(up.kubeconfig(), "logs", "build/web-again").out()).doesNotContain("building web guest").contains("in the cache already");
  }

  @Test
  @Order(3)
  void aCommitThatDoesNotEvaluateFailsItsBuildWithNixsMessageAndChangesNothing() throws Exception {
    String commit = push("{ version = 3; healthy = true; }\n"); // an integer where a string is needed
    sync();
    Build b = awaitFinished("web-" + commit.substring(0, 12));
    assertThat(b.getStatus().phase()).isEqualTo(BuildPhase.FAILED);
    assertThat(Conditions.reason(b.getStatus().conditions(), BuildAgreements.READY)).isEqualTo("EvaluationFailed");
    assertThat(b.getStatus().message()).contains("cannot coerce an integer to a string");
    assertThat(b.getStatus().failedAttribute()).isEqualTo(ATTR);
    assertThat(b.getStatus().attemptNumber()).as("an evaluation error is not retried").isEqualTo(1);
    assertThat(closure()).isEqualTo(firstOutput);
  }

  @Test
  @Order(4)
  void aCommitWhoseGuestFailsItsHealthCheckIsRolledBackToThePreviousClosure() throws Exception {
    String commit = push("{ version = \"4." + TestNames.random(10) + "\"; healthy = false; }\n");
    sync();
    Build b = awaitFinished("web-" + commit.substring(0, 12));
    assertThat(b.getStatus().phase()).as(b.getStatus().message()).isEqualTo(BuildPhase.SUCCEEDED);
    String bad = b.getStatus().outputs().get(ATTR);
    await().atMost(Duration.ofSeconds(30)).until(() -> bad.equals(closure()));
    await().atMost(Duration.ofMinutes(4)).until(() -> "RolledBack".equals(Conditions.reason(cluster().getStatus().conditions(), "Progressing")));
    await().atMost(Duration.ofMinutes(3)).untilAsserted(() -> assertThat(runningVms()).singleElement()
        .satisfies(v -> assertThat(v.getSpec().boot().closure()).isEqualTo(firstOutput)));
  }

  @Test
  @Order(5)
  void aFailingBuildIsRetriedWithBackoffThenFailsWithTheTailOfItsLog() throws Exception {
    Path flake = TestFlakes.oneDerivation(dir.resolve("broken"), "broken", "echo about to fail; exit 3");
    Build broken = new Build();
    broken.setMetadata(new ObjectMetaBuilder().withName("broken").withNamespace("default").build());
    broken.setSpec(new BuildSpec("path:" + flake, List.of("broken")).withLimits(null, 1));
    client.resource(broken).create();
    await().atMost(Duration.ofMinutes(1)).until(() -> build("broken").getStatus() != null && build("broken").getStatus().attemptNumber() == 2);
    Build b = awaitFinished("broken");
    assertThat(b.getStatus().phase()).isEqualTo(BuildPhase.FAILED);
    assertThat(Conditions.reason(b.getStatus().conditions(), BuildAgreements.READY)).isEqualTo("BuildFailed");
    assertThat(b.getStatus().message()).contains("failed with exit code 3", "no retries left after 2 attempts");
    assertThat(b.getStatus().failedAttribute()).isEqualTo("broken");
    assertThat(b.getStatus().logTail()).contains("about to fail");
  }

  @Test
  @Order(6)
  void anAttemptPastTimeoutSecondsIsStoppedAndTheBuildFailsTimedOut() throws Exception {
    Path flake = TestFlakes.oneDerivation(dir.resolve("slow"), "slow", "echo started; /bin/sleep 120; echo done > $out");
    Build slow = new Build();
    slow.setMetadata(new ObjectMetaBuilder().withName("slow").withNamespace("default").build());
    slow.setSpec(new BuildSpec("path:" + flake, List.of("slow")).withLimits(15, 0));
    long t0 = System.nanoTime();
    client.resource(slow).create();
    // while it builds, the push token is nowhere in the Build's folder (the netrc is written for the push only) and on no command line
    String token = Files.readString(up.dataDir.resolve("cache-token")).trim();
    Path buildDir = up.dataDir.resolve("agent/builds/default/slow");
    Path conf = buildDir.resolve("nix");
    await().atMost(Duration.ofMinutes(1)).until(() -> build("slow").getStatus() != null
        && build("slow").getStatus().phase() == BuildPhase.BUILDING && Files.exists(conf.resolve("nix.conf")));
    assertThat(Files.getPosixFilePermissions(conf)).containsExactlyInAnyOrderElementsOf(
        java.nio.file.attribute.PosixFilePermissions.fromString("rwx------"));
    assertThat(Files.readString(conf.resolve("nix.conf"))).doesNotContain(token).doesNotContain("netrc").contains("sandbox = true");
    try (var files = Files.walk(buildDir)) {
      assertThat(files.filter(Files::isRegularFile).filter(f -> {
        try {
          return Files.readString(f).contains(token);
        } catch (java.io.IOException | java.io.UncheckedIOException e) {
          return false;
        }
      }).toList()).as("no file of the Build holds the token while it builds").isEmpty();
    }
    assertThat(ProcessHandle.allProcesses().map(h -> h.info().commandLine().orElse("")).filter(c -> c.contains(token)).toList())
        .as("no command line carries the token").isEmpty();
    Build b = awaitFinished("slow");
    Duration took = Duration.ofNanos(System.nanoTime() - t0);
    assertThat(b.getStatus().phase()).isEqualTo(BuildPhase.FAILED);
    assertThat(Conditions.reason(b.getStatus().conditions(), BuildAgreements.READY)).isEqualTo("TimedOut");
    assertThat(b.getStatus().message()).contains("timeoutSeconds (15 s)");
    assertThat(b.getStatus().logTail()).contains("started");
    assertThat(took).as("stopped at its timeout, not when the build would have ended").isLessThan(Duration.ofSeconds(100));
    assertThat(buildDir.resolve("push/netrc")).as("the token goes with the attempt").doesNotExist();
    assertThat(b.getStatus().toString()).doesNotContain(token);
  }
}
