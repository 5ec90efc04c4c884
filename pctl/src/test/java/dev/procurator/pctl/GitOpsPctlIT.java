package dev.procurator.pctl;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import java.util.Locale;

/**
 * A git push reaching the cluster as a user sets it up: a bare repository with the example
 * post-receive hook, a GitRepository with a webhook secret, `pctl sync` and `pctl get`.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class GitOpsPctlIT {
  private PctlUp up;
  private Path dir;
  private Path bare;
  private Path work;

  @BeforeAll
  void up() throws Exception {
    up = PctlUp.withControllers();
    dir = Files.createTempDirectory("gitops-pctl");
    bare = dir.resolve("fleet.git");
    work = dir.resolve("work");
    git(dir, "init", "-q", "--bare", "-b", "main", bare.toString());
    git(dir, "init", "-q", "-b", "main", work.toString());
    git(work, "remote", "add", "origin", bare.toString());
    Path token = dir.resolve("webhook-token");
    Files.writeString(token, "hook-s3cret");
    Path hook = bare.resolve("hooks").resolve("post-receive");
    Files.copy(Path.of("..", "examples", "git-hooks", "post-receive"), hook, StandardCopyOption.REPLACE_EXISTING);
    hook.toFile().setExecutable(true);
    git(bare, "config", "procurator.url", up.url());
    git(bare, "config", "procurator.cacert", up.dataDir.resolve("pki").resolve("ca.crt").toString());
    git(bare, "config", "procurator.repository", "default/fleet");
    git(bare, "config", "procurator.tokenFile", token.toString());
  }

  @AfterAll
  void down() throws Exception {
    up.close();
  }

  private static String git(Path in, String... args) throws Exception {
    List<String> all = new java.util.ArrayList<>(List.of("git", "-c", "user.name=Test", "-c", "user.email=test@example.org"));
    all.addAll(List.of(args));
    Process p = new ProcessBuilder(all).directory(in.toFile()).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
    assertThat(p.exitValue()).as(String.join(" ", args) + ": " + out).isZero();
    return out;
  }

  private String commit(String file, String content) throws Exception {
    Path f = work.resolve(file);
    if (content == null) {
      Files.delete(f);
    } else {
      Files.createDirectories(f.getParent());
      Files.writeString(f, content);
    }
    git(work, "add", "-A");
    git(work, "commit", "-q", "-m", "change " + file);
    git(work, "push", "-q", "origin", "main");
    return git(work, "rev-parse", "HEAD").trim();
  }


  record Run(int code, String out, String err) {}

  private Run pctl(String... args) {
    PctlRun r = PctlRun.run(up.kubeconfig(), args);
    return new Run(r.code(), r.out(), r.err());
  }

  private static String vm(String name, int cpu) {
    return "apiVersion: procurator.dev/v1alpha1\nkind: VM\nmetadata:\n  name: " + name + "\nspec:\n  cpu: " + cpu
        + "\n  memory: 128Mi\n  boot:\n    kernel: hello/vmlinux\n";
  }

  @Test
  void aPushThroughTheExampleHookIsSyncedAndPctlSyncAndGetShowIt() throws Exception {
    commit("vms/web.yaml", vm("web", 1));
    Path manifests = dir.resolve("repo.yaml");
    Files.writeString(manifests, String.format(Locale.ROOT, """
        apiVersion: procurator.dev/v1alpha1
        kind: Secret
        metadata:
          name: fleet-webhook
        spec:
          stringData:
            token: hook-s3cret
        ---
        apiVersion: procurator.dev/v1alpha1
        kind: GitRepository
        metadata:
          name: fleet
        spec:
          url: file://%s
          path: vms
          intervalSeconds: 3600
          webhookSecretRef:
            name: fleet-webhook
        """, bare));
    Run apply = pctl("apply", "-f", manifests.toString());
    assertThat(apply.code()).as(apply.err()).isZero();
    Run first = pctl("sync", "gitrepository/fleet", "--timeout", "60");
    assertThat(first.code()).as(first.out() + first.err()).isZero();
    assertThat(first.out()).contains("vm/web created");

    // with an hour's interval, only the post-receive hook's webhook call can bring this commit in time
    String next = commit("vms/db.yaml", vm("db", 1));
    await().atMost(Duration.ofSeconds(20)).untilAsserted(() -> {
      Run get = pctl("get", "gitrepositories");
      assertThat(get.code()).isZero();
      assertThat(get.out()).contains(next).contains("True");
    });
    Run get = pctl("get", "vms");
    assertThat(get.out()).contains("db").contains("web");

    // without the hook's call, the next commit waits for a sync: pctl sync brings it and says what changed
    git(bare, "config", "--unset", "procurator.url");
    String last = commit("vms/db.yaml", null);
    Run sync = pctl("sync", "gitrepository/fleet");
    assertThat(sync.code()).as(sync.err()).isZero();
    assertThat(sync.out()).contains("vm/db pruned").contains("synced " + last);
    assertThat(pctl("get", "vms").out()).doesNotContain("db");
  }
}
