package dev.procurator.pctl;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.procurator.api.runtime.Conditions;
import dev.procurator.api.v1alpha1.Build;
import dev.procurator.api.v1alpha1.BuildAgreements;
import dev.procurator.api.v1alpha1.BuildPhase;
import dev.procurator.api.v1alpha1.BuildSpec;
import dev.procurator.apiserver.testing.EtcdProcess;
import dev.procurator.apiserver.testing.TestNames;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * A Build is user code, run by {@code pctl up}'s builder with the real nix client: its derivations
 * build in nix's sandbox as build users, where neither the data dir nor a token is within reach,
 * and its flake cannot bring the data dir in as an input. A host whose nix cannot sandbox refuses
 * Builds with a condition that says why and what to do, unless {@code --allow-unsandboxed-builds}.
 */
class BuildSandboxIT {
  private PctlUp up;
  private KubernetesClient client;
  private Path dir;

  @AfterEach
  void down() throws Exception {
    if (client != null) {
      client.close();
    }
    if (up != null) {
      up.close();
    }
    if (dir != null) {
      EtcdProcess.deleteTree(dir);
    }
  }

  private void start(String... args) throws Exception {
    dir = Files.createTempDirectory("build-sandbox");
    up = PctlUp.system(args);
    client = KubeClients.fromKubeconfig(up.kubeconfig());
  }

  private Build run(String name, String flake, String attr) {
    Build b = new Build();
    b.setMetadata(new ObjectMetaBuilder().withName(name).withNamespace("default").build());
    b.setSpec(new BuildSpec(flake, List.of(attr)).withLimits(120, 0));
    client.resource(b).create();
    await().atMost(Duration.ofMinutes(2)).until(() -> {
      Build now = client.resources(Build.class).inNamespace("default").withName(name).get();
      return now.getStatus() != null && now.getStatus().phase() != null && now.getStatus().phase().finished();
    });
    return client.resources(Build.class).inNamespace("default").withName(name).get();
  }

  private static String reason(Build b) {
    return Conditions.reason(b.getStatus().conditions(), BuildAgreements.READY);
  }

  private List<String> secrets() throws Exception {
    return List.of(Files.readString(up.dataDir.resolve("cache-token")).strip(), Files.readString(up.dataDir.resolve("admin-token")).strip(),
        Files.readString(up.dataDir.resolve("pki/ca.key")).lines().filter(l -> !l.startsWith("-----")).findFirst().orElseThrow());
  }

  @Test
  void aDerivationThatLooksForTheDataDirAndTheTokensFindsNothingAndIsNotRoot() throws Exception {
    start();
    Path data = up.dataDir.toAbsolutePath();
    Path mark = Path.of("/usr/bin/procurator-was-here-" + TestNames.random(8));
    String script = String.format(Locale.ROOT, "export PATH=/usr/bin:/bin; id; echo uid map: $(cat /proc/self/uid_map); "
        + "cat %1$s/cache-token %1$s/admin-token %1$s/pki/ca.key %1$s/agent/builds/default/snoop/push/netrc; ls %1$s/agent; "
        + "echo environment: $(env | tr '\\n' ' '); touch %2$s; exit 1", data, mark);
    Path flake = TestFlakes.oneDerivation(dir.resolve("snoop"), "snoop", script);
    Build b;
    try {
      b = run("snoop", "path:" + flake, "snoop");
      assertThat(mark).as("a build cannot write to the host's tool folders").doesNotExist();
    } finally {
      Files.deleteIfExists(mark);
    }
    assertThat(reason(b)).as(b.getStatus().message()).isEqualTo("BuildFailed");
    String tail = b.getStatus().logTail();
    assertThat(tail).contains("uid=1000(nixbld)", "environment:", data + "/cache-token: No such file or directory",
        data + "/admin-token: No such file or directory", data + "/pki/ca.key: No such file or directory",
        "cannot access '" + data + "/agent': No such file or directory", "touch: cannot touch '" + mark + "': Permission denied");
    assertThat(tail).doesNotContain("uid=0").doesNotContainPattern("uid map: \\d+ 0 ");
    for (String secret : secrets()) {
      assertThat(tail).doesNotContain(secret);
      assertThat(b.getStatus().toString()).doesNotContain(secret);
      assertThat(PctlRun.run(up.kubeconfig(), "logs", "build/snoop").out()).doesNotContain(secret);
    }
  }

  /**
   * The push token reaches nix only for the push: while the derivations build, no netrc exists in
   * the attempt's folder; when {@code nix copy} runs, the netrc its settings name is 0600 in a 0700
   * folder that is not the one the evaluation was shown, and a build user cannot read it. The
   * builder's nix and nix-store are wrappers that record this as each is called, then run the real
   * ones: no polling, no moment to catch.
   */
  @Test
  void thePushTokenIsWrittenForThePushOnlyPrivateAndOutOfABuildUsersReach() throws Exception {
    dir = Files.createTempDirectory("build-sandbox");
    // the wrappers live in the local flake's folder, which the jailed evaluation is shown too
    Path flake = TestFlakes.oneDerivation(dir.resolve("pushed"), "pushed", "echo built > $out");
    Path bin = Files.createDirectories(flake.resolve("bin"));
    Path seen = dir.resolve("seen.log");
    for (String tool : List.of("nix", "nix-store")) {
      String real = java.util.Arrays.stream(System.getenv("PATH").split(":")).map(d -> Path.of(d, tool))
          .filter(Files::isExecutable).findFirst().orElseThrow().toString();
      Files.writeString(bin.resolve(tool), String.format(Locale.ROOT, """
          #!/bin/sh
          case "$1" in
            copy)
              netrc=$(sed -n 's/^netrc-file = //p' "$NIX_CONF_DIR/nix.conf")
              if setpriv --reuid=nixbld1 --regid=nixbld --clear-groups cat "$netrc" >/dev/null 2>&1; then who=readable; else who=unreadable; fi
              echo "push netrc=$netrc file=$(stat -c %%a "$netrc") folder=$(stat -c %%a "${netrc%%/*}") buildUser=$who" >> %1$s
              ;;
            --realise)
              echo "build conf=$NIX_CONF_DIR netrcs=[$(find "$NIX_CONF_DIR/.." -name '*netrc*' | tr '\n' ' ')]" >> %1$s
              ;;
          esac
          exec %2$s "$@"
          """, seen, real));
      Files.setPosixFilePermissions(bin.resolve(tool), java.nio.file.attribute.PosixFilePermissions.fromString("rwxr-xr-x"));
    }
    up = PctlUp.system(java.util.Map.of("PATH", bin + ":" + System.getenv("PATH")));
    client = KubeClients.fromKubeconfig(up.kubeconfig());

    Build b = run("pushed", "path:" + flake, "pushed");
    assertThat(b.getStatus().phase()).as(b.getStatus().message()).isEqualTo(BuildPhase.SUCCEEDED);
    List<String> lines = Files.readAllLines(seen);
    assertThat(lines).as("what the wrappers saw").hasSize(2);
    java.util.regex.Matcher build = java.util.regex.Pattern.compile("build conf=(\\S+) netrcs=\\[(.*)]").matcher(lines.get(0));
    java.util.regex.Matcher push = java.util.regex.Pattern.compile("push netrc=(\\S+) file=(\\d+) folder=(\\d+) buildUser=(\\w+)")
        .matcher(lines.get(1));
    assertThat(build.matches()).as(lines.get(0)).isTrue();
    assertThat(push.matches()).as(lines.get(1)).isTrue();
    assertThat(build.group(2)).as("netrc files in the attempt's folder while the derivation builds").isBlank();
    Path netrc = Path.of(push.group(1));
    assertThat(push.group(2)).as("the netrc's mode when nix copy starts").isEqualTo("600");
    assertThat(push.group(3)).as("its folder's mode").isEqualTo("700");
    assertThat(push.group(4)).as("a build user reading the netrc").isEqualTo("unreadable");
    assertThat(netrc.startsWith(Path.of(build.group(1)))).as("the netrc is in the folder the evaluation was shown").isFalse();
    assertThat(netrc.startsWith(up.dataDir.toAbsolutePath())).isTrue();
    assertThat(netrc).as("the token goes with the push").doesNotExist();
  }

  @Test
  void aFlakeThatTakesTheDataDirAsAnInputFailsToEvaluateAndOneThatIsTheDataDirIsRefused() throws Exception {
    start();
    Path data = up.dataDir.toAbsolutePath();
    Path flake = Files.createDirectories(dir.resolve("thief"));
    Files.writeString(flake.resolve("flake.nix"), String.format(Locale.ROOT, """
        {
          inputs.data = { url = "path:%s"; flake = false; };
          outputs = { self, data }: {
            packages.x86_64-linux.thief = derivation {
              name = "%s"; system = "x86_64-linux"; builder = "/bin/sh";
              args = [ "-c" "/usr/bin/cat ${data}/cache-token ${data}/admin-token; exit 1" ];
            };
          };
        }
        """, data, TestNames.unique("thief")));
    Build b = run("thief", "path:" + flake, "packages.x86_64-linux.thief");
    // the evaluation sees of the data dir only the Build's own folders (its home and nix's cache): no token is there
    assertThat(reason(b)).as(b.getStatus().message()).isIn("EvaluationFailed", "BuildFailed");
    assertThat(b.getStatus().message() + b.getStatus().logTail()).contains("No such file or directory");
    for (String secret : secrets()) {
      assertThat(b.getStatus().toString()).doesNotContain(secret);
    }
    Build own = run("own", "path:" + data, "packages.x86_64-linux.x");
    assertThat(reason(own)).isEqualTo("InvalidSource");
    assertThat(own.getStatus().message()).contains("private data", "builds may not read it");
  }

  @Test
  void aHostThatCannotSandboxRefusesBuildsAndSaysWhatToDo() throws Exception {
    Path conf = Files.createTempFile("no-build-users", ".conf");
    try {
      Files.writeString(conf, "build-users-group = procurator-no-such-group\n");
      start("--build-nix-conf", conf.toString());
      Path flake = TestFlakes.oneDerivation(dir.resolve("ok"), "ok", "echo built > $out");
      Build b = run("refused", "path:" + flake, "ok");
      assertThat(b.getStatus().phase()).isEqualTo(BuildPhase.FAILED);
      assertThat(reason(b)).isEqualTo("SandboxUnavailable");
      assertThat(b.getStatus().message()).contains("procurator-no-such-group", "does not exist", "nixbld", "--allow-unsandboxed-builds");
      assertThat(b.getStatus().attemptNumber()).as("not retried: the host will not change by itself").isEqualTo(1);
      assertThat(Files.readString(up.dataDir.resolve("up.log"))).contains("Builds placed here will fail SandboxUnavailable");
    } finally {
      Files.deleteIfExists(conf);
    }
  }

  @Test
  void anAdminMayLetAHostThatCannotSandboxBuildAnyway() throws Exception {
    Path conf = Files.createTempFile("no-build-users", ".conf");
    try {
      Files.writeString(conf, "build-users-group = procurator-no-such-group\n");
      start("--build-nix-conf", conf.toString(), "--allow-unsandboxed-builds");
      Path flake = TestFlakes.oneDerivation(dir.resolve("ok"), "ok", "echo built > $out");
      Build b = run("allowed", "path:" + flake, "ok");
      assertThat(b.getStatus().phase()).as(b.getStatus().message()).isEqualTo(BuildPhase.SUCCEEDED);
      assertThat(PctlRun.run(up.kubeconfig(), "logs", "build/allowed").out()).contains("building WITHOUT a sandbox");
    } finally {
      Files.deleteIfExists(conf);
    }
  }
}
