package dev.procurator.controllers.gitops;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.procurator.apiserver.testing.TestNames;
import dev.procurator.api.runtime.Conditions;
import dev.procurator.api.v1alpha1.Cluster;
import dev.procurator.api.v1alpha1.GitRepository;
import dev.procurator.api.v1alpha1.GitRepositorySpec;
import dev.procurator.apiserver.testing.TestApiServer;
import dev.procurator.api.nix.NixJail;
import dev.procurator.controllers.ControllerManager;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

/**
 * A GitRepository with {@code source: Flake}: the controller evaluates the flake's {@code
 * procurator.resources} (nix/modules/cluster.nix, with the real nix client and nixpkgs' lib) at
 * each commit and applies the Clusters it lists; a wrong type is the GitRepository's
 * ValidationFailed with the module system's message, and the last good commit stays in force.
 * The flake is user code: it evaluates without import from derivation, sees nothing of the host
 * outside its source, and is stopped at the limits on memory and time, each with a condition
 * that says so.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class FlakeSourceIT {
  static final String CLOSURE = "/nix/store/0c3ghl2pfmxw7kxq2hyd5d44fbxrhz0y-web";
  /** Room for the cluster module with nixpkgs' lib, not for much more. */
  static final long MEMORY_LIMIT = 512L << 20;
  static final Duration TIME_LIMIT = Duration.ofSeconds(30);
  @TempDir static Path dir;
  private TestApiServer api;
  private KubernetesClient client;
  private ControllerManager controllers;
  private Path root;

  @BeforeAll
  void start() throws Exception {
    root = Path.of("").toAbsolutePath();
    while (root != null && !Files.isRegularFile(root.resolve("nix/lib/default.nix"))) {
      root = root.getParent();
    }
    String set = System.getenv().getOrDefault("PROCURATOR_NIXPKGS_LIB", System.getProperty("procurator.nixpkgsLib"));
    Path lib = set != null ? Path.of(set) : root.resolve("nix").resolve("nixpkgs-lib").resolve("lib");
    // the same check as NixModulesIT's: nixpkgs' lib both as a path to import and as a flake
    assertThat(lib.resolve("flake.nix")).as("nixpkgs' lib (PROCURATOR_NIXPKGS_LIB, else the copy in nix/nixpkgs-lib)").isRegularFile();
    assertThat(lib.resolve("default.nix")).isRegularFile();
    System.setProperty("procurator.nixpkgsOverride", lib.toString());
    api = TestApiServer.embedded();
    client = api.client();
    controllers = new ControllerManager(client, ControllerManager.Config.defaults("flake-test").withGitCacheDir(dir.resolve("git-cache")).withPrivateGitUrls(true)
        .withFlakeEvalLimits(new NixJail.Limits(TIME_LIMIT, MEMORY_LIMIT)), Clock.systemUTC()).start();
    await().atMost(Duration.ofSeconds(20)).until(controllers::leading);
  }

  @AfterAll
  void stop() {
    System.clearProperty("procurator.nixpkgsOverride");
    if (controllers != null) {
      controllers.close();
    }
    if (api != null) {
      api.close();
    }
  }

  private Map<String, String> flake(String vm) throws Exception {
    Map<String, String> files = new HashMap<>();
    files.put("deploy/flake.nix", """
        {
          inputs.nixpkgs.url = "github:NixOS/nixpkgs/nixos-25.05";
          outputs = { self, nixpkgs }: {
            procurator = ((import ./procurator/lib { inherit (nixpkgs) lib; }).evalCluster [ ./cluster.nix ]).config.procurator;
          };
        }
        """);
    files.put("deploy/cluster.nix", "{ procurator.cluster = { name = \"shop\"; vms.web = " + vm + "; }; }\n");
    files.put("deploy/procurator/lib/default.nix", Files.readString(root.resolve("nix/lib/default.nix")).replace("../modules/cluster.nix", "../modules/cluster.nix"));
    files.put("deploy/procurator/modules/cluster.nix", Files.readString(root.resolve("nix/modules/cluster.nix")));
    return files;
  }

  /** A flake in deploy/ whose {@code procurator.resources} is {@code resources} (with {@code inputs} as its inputs' attribute set). */
  private static Map<String, String> bareFlake(String inputs, String args, String resources) {
    return Map.of("deploy/flake.nix", "{\n  inputs = " + inputs + ";\n  outputs = { self" + args + " }: {\n    procurator.resources = " + resources
        + ";\n  };\n}\n");
  }

  /** Pushes {@code files} as a repository of its own and waits for its Ready condition to turn False; the condition's message. */
  private String refused(String ns, Map<String, String> files) throws Exception {
    GitOpsIT.grant(client, ns, "developer"); // what the flake lists could be applied: only its evaluation stops it
    try (Remote remote = new Remote(dir, TestNames.unique("shop"))) {
      String commit = remote.push("user code", files);
      repo(ns, remote.fileUrl());
      String[] message = {null};
      await().atMost(Duration.ofSeconds(90)).ignoreExceptions().untilAsserted(() -> {
        GitRepository r = client.resources(GitRepository.class).inNamespace(ns).withName("shop").get();
        var ready = Conditions.find(r.getStatus() == null ? null : r.getStatus().conditions(), GitSync.READY).orElseThrow();
        assertThat(ready.getReason()).isEqualTo("ValidationFailed");
        assertThat(ready.getMessage()).contains(commit);
        message[0] = ready.getMessage();
      });
      assertThat(client.resources(Cluster.class).inNamespace(ns).list().getItems()).as("nothing applied").isEmpty();
      return message[0];
    }
  }

  @Test
  void aFlakeThatImportsFromADerivationIsRefusedWithNixsReason() throws Exception {
    String ns = TestNames.unique("flake-ifd");
    try {
      String msg = refused(ns, bareFlake("{ }", "", """
          import (derivation {
                name = "resources"; system = "x86_64-linux"; builder = "/bin/sh";
                args = [ "-c" "echo '[ ]' > $out" ];
              })"""));
      assertThat(msg).contains("allow-import-from-derivation", "is disabled");
    } finally {
      client.resources(GitRepository.class).inNamespace(ns).delete();
    }
  }

  @Test
  void aFlakeInputOutsideItsSourceIsNotThereForTheEvaluation() throws Exception {
    String ns = TestNames.unique("flake-path");
    String secret = "s" + TestNames.random(20);
    Path host = Files.createDirectories(dir.resolve("host-" + TestNames.random(8)));
    Files.writeString(host.resolve("token"), secret);
    try {
      // locked, as every input must be: these controllers allow private remotes, so only the jail stands in the way
      Map<String, String> files = new HashMap<>(bareFlake("{ secret = { url = \"path:" + host + "\"; flake = false; }; }", ", secret", """
          [ {
                apiVersion = "procurator.dev/v1alpha1"; kind = "Cluster";
                metadata = { name = "leak"; annotations.stolen = builtins.readFile "${secret}/token"; };
                spec.templates = [ ];
              } ]"""));
      files.put("deploy/flake.lock", lock("secret", "{\"type\": \"path\", \"path\": \"" + host + "\", \"narHash\": \"" + narHash(host) + "\"}"));
      String msg = refused(ns, files);
      assertThat(msg).contains(host.toString(), "No such file or directory").doesNotContain(secret);
    } finally {
      client.resources(GitRepository.class).inNamespace(ns).delete();
    }
  }

  @Test
  void anEvaluationPastItsMemoryLimitIsStoppedAndSaysSo() throws Exception {
    String ns = TestNames.unique("flake-mem");
    try {
      // about 1 GiB of live strings: twice the limit
      String msg = refused(ns, bareFlake("{ }", "", """
          let l = builtins.genList (i: "item-${toString i}") 6000000; in builtins.deepSeq l [ ]"""));
      assertThat(msg).contains("ran out of memory", "512 MiB");
    } finally {
      client.resources(GitRepository.class).inNamespace(ns).delete();
    }
  }

  @Test
  void anEvaluationPastItsTimeLimitIsStoppedAndSaysSo() throws Exception {
    String ns = TestNames.unique("flake-time");
    try {
      // ten billion additions in little memory: hours of work
      String msg = refused(ns, bareFlake("{ }", "", """
          let n = builtins.genList (x: x) 100000; in
              if builtins.foldl' (a: i: a + builtins.foldl' (b: j: b + j) 0 n) 0 n > 0 then [ ] else [ ]"""));
      assertThat(msg).contains("longer than its limit of " + TIME_LIMIT.toSeconds() + " s");
    } finally {
      client.resources(GitRepository.class).inNamespace(ns).delete();
    }
  }

  /** A flake.lock whose root has one input, {@code name}, locked as {@code locked} (a JSON object). */
  static String lock(String name, String locked) {
    return "{\"nodes\": {\"root\": {\"inputs\": {\"" + name + "\": \"" + name + "\"}}, \"" + name + "\": {\"flake\": false, \"locked\": " + locked
        + ", \"original\": " + locked.replaceAll(",\\s*\"narHash\":\\s*\"[^\"]*\"", "") + "}}, \"root\": \"root\", \"version\": 7}\n";
  }

  /** nix's hash of a folder, as a path input's lock holds it. */
  static String narHash(Path folder) throws Exception {
    ProcessBuilder pb = new ProcessBuilder("nix", "hash", "path", folder.toString()).redirectErrorStream(true);
    pb.environment().put("NIX_CONFIG", "experimental-features = nix-command");
    Process p = pb.start();
    String out = new String(p.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8).strip();
    assertThat(p.waitFor()).as(out).isZero();
    return out;
  }

  /** An HTTP server on 127.0.0.1 that answers 404 to everything and counts the requests it was sent. */
  static final class Recorder implements AutoCloseable {
    final com.sun.net.httpserver.HttpServer server;
    final java.util.concurrent.atomic.AtomicInteger requests = new java.util.concurrent.atomic.AtomicInteger();

    Recorder() throws java.io.IOException {
      server = com.sun.net.httpserver.HttpServer.create(new java.net.InetSocketAddress("127.0.0.1", 0), 0);
      server.createContext("/", ex -> {
        requests.incrementAndGet();
        ex.sendResponseHeaders(404, -1);
        ex.close();
      });
      server.start();
    }

    String url(String path) {
      return "http://127.0.0.1:" + server.getAddress().getPort() + path;
    }

    @Override
    public void close() {
      server.stop(0);
    }
  }

  @Test
  void anUnlockedInputIsRefusedBeforeNixFetchesIt() throws Exception {
    String ns = TestNames.unique("flake-unlocked");
    try (Recorder loopback = new Recorder()) {
      String url = loopback.url("/x.tar.gz");
      String msg = refused(ns, bareFlake("{ d = { url = \"" + url + "\"; flake = false; }; }", ", d", "[ ]"));
      assertThat(msg).contains("flake input 'd'", url, "is not locked");
      assertThat(loopback.requests).as("nix never fetched the input").hasValue(0);
    } finally {
      client.resources(GitRepository.class).inNamespace(ns).delete();
    }
  }

  @Test
  void aLockedInputOnLoopbackIsRefusedUnlessPrivateRemotesAreAllowed() throws Exception {
    try (Recorder loopback = new Recorder(); Remote remote = new Remote(dir, TestNames.unique("loopback"))) {
      String url = loopback.url("/x.tar.gz");
      Map<String, String> files = new HashMap<>(bareFlake("{ d = { url = \"" + url + "\"; flake = false; }; }", ", d",
          "builtins.seq (builtins.readDir d) [ ]"));
      files.put("deploy/flake.lock", lock("d", "{\"type\": \"tarball\", \"url\": \"" + url
          + "\", \"narHash\": \"sha256-47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\"}"));
      String commit = remote.push("a loopback input", files);
      try (GitSource mirror = new GitSource(remote.bare)) {
        mirror.pin(commit);
      }
      Path work = Files.createDirectories(dir.resolve("eval-" + TestNames.random(8)));
      NixJail.Limits limits = new NixJail.Limits(TIME_LIMIT, MEMORY_LIMIT);
      org.assertj.core.api.Assertions.assertThatThrownBy(() -> FlakeResources.eval(remote.bare, commit, "deploy", work, limits, false))
          .isInstanceOf(FlakeResources.EvalException.class)
          .hasMessageContaining("flake input 'd'").hasMessageContaining(url).hasMessageContaining("loopback");
      assertThat(loopback.requests).as("nix never fetched the input").hasValue(0);
      // allowed by the controller, a locked input is still nix's to refuse in restricted mode (allowed-uris is empty)
      org.assertj.core.api.Assertions.assertThatThrownBy(() -> FlakeResources.eval(remote.bare, commit, "deploy", work, limits, true))
          .isInstanceOf(FlakeResources.EvalException.class).hasMessageContaining("forbidden in restricted mode");
      assertThat(loopback.requests).hasValue(0);
    }
  }

  private GitRepository repo(String ns, String url) {
    GitRepository r = new GitRepository();
    r.setMetadata(new ObjectMetaBuilder().withName("shop").withNamespace(ns).build());
    r.setSpec(new GitRepositorySpec(url, "main", "deploy", 1, true).withSource(GitRepositorySpec.Source.FLAKE));
    return client.resource(r).create();
  }

  @Test
  void theFlakesResourcesAreAppliedAndAWrongTypeIsRefusedWithTheModuleSystemsMessage() throws Exception {
    String ns = TestNames.unique("flake");
    GitOpsIT.grant(client, ns, "developer");
    try (Remote remote = new Remote(dir, TestNames.unique("shop"))) {
      String good = remote.push("a cluster", flake("{ cpu = 2; memory = \"128Mi\"; replicas = 2; closure = \"" + CLOSURE + "\"; }"));
      repo(ns, remote.fileUrl());
      await().atMost(Duration.ofSeconds(60)).untilAsserted(() -> {
        Cluster c = client.resources(Cluster.class).inNamespace(ns).withName("web").get();
        assertThat(c).isNotNull();
        assertThat(c.getSpec().templates().getFirst().replicas()).isEqualTo(2);
        assertThat(c.getSpec().templates().getFirst().spec().boot().closure()).isEqualTo(CLOSURE);
        assertThat(c.getMetadata().getLabels()).containsEntry("procurator.dev/part-of", "shop").containsEntry(GitSync.LABEL_NAME, "shop");
      });
      String bad = remote.push("a typo", flake("{ cpu = \"two\"; closure = \"" + CLOSURE + "\"; }"));
      await().atMost(Duration.ofSeconds(60)).untilAsserted(() -> {
        GitRepository r = client.resources(GitRepository.class).inNamespace(ns).withName("shop").get();
        var ready = Conditions.find(r.getStatus().conditions(), GitSync.READY).orElseThrow();
        assertThat(ready.getReason()).isEqualTo("ValidationFailed");
        assertThat(ready.getMessage()).contains(bad, "procurator.cluster.vms.web.cpu", "is not of type `integer between 1 and 64");
        assertThat(r.getStatus().lastAppliedCommit()).isEqualTo(good);
      });
      assertThat(client.resources(Cluster.class).inNamespace(ns).withName("web").get().getSpec().templates().getFirst().spec().cpu()).isEqualTo(2);
    } finally {
      client.resources(GitRepository.class).inNamespace(ns).delete();
    }
  }
}
