package dev.procurator.pctl;

import static org.assertj.core.api.Assertions.assertThat;

import dev.procurator.apiserver.testing.TestApiServer;
import dev.procurator.cachesrv.CacheFiles;
import dev.procurator.cachesrv.CacheServer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.ThreadLocalRandom;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code pctl closure} against a real cache in this JVM, with closures built and pushed by the real nix. */
class ClosureCommandIT {
  @TempDir Path tmp;
  private CacheServer cache;
  private Path data;
  private Path conf;
  private Path noKubeconfig;

  @BeforeEach
  void start() throws Exception {
    data = tmp.resolve("data");
    // as 'pctl up' runs it: the store under the data dir, the tokens beside it
    cache = CacheCommand.start(data, "127.0.0.1:0", "closure-test-1", false, 40, 0, null);
    conf = tmp.resolve("nixconf");
    Files.createDirectories(conf);
    Files.writeString(conf.resolve("nix.conf"), "experimental-features = nix-command\nbuild-users-group =\nsandbox = false\nsubstituters =\n");
    noKubeconfig = tmp.resolve("no-kubeconfig");
  }

  @AfterEach
  void stop() {
    cache.close();
  }

  /** A tiny closure, two paths (top references dep), unique to this run, in the local store only. */
  private String build() throws Exception {
    long n = ThreadLocalRandom.current().nextLong(1L << 48);
    String expr = "let dep = derivation { name = \"closure-dep-" + n + "\"; system = \"x86_64-linux\"; builder = \"/bin/sh\";"
        + " args = [\"-c\" \"echo dep > $out\"]; }; in derivation { name = \"closure-top-" + n + "\"; system = \"x86_64-linux\";"
        + " builder = \"/bin/sh\"; args = [\"-c\" \"echo ${dep} > $out\"]; }";
    PctlIT.Run r = NixCli.run(conf, tmp, Duration.ofMinutes(2), "nix", "build", "--no-link", "--json", "--impure", "--expr", expr);
    assertThat(r.code()).as(r.err()).isZero();
    return r.out().replaceAll("(?s).*\"out\":\"([^\"]+)\".*", "$1");
  }

  private PctlRun pctl(String... args) {
    return PctlRun.run(noKubeconfig, args);
  }

  private boolean cached(String path) throws Exception {
    return cache.store().size("narinfo/" + path.substring("/nix/store/".length(), "/nix/store/".length() + 32) + ".narinfo") >= 0;
  }

  @Test
  void pushNameGetListMoveAndDelete() throws Exception {
    String top = build();
    String dep = Files.readString(Path.of(top)).strip();
    String url = cache.url();
    String d = data.toString();

    PctlRun named = pctl("closure", "name", "hello", top, "--push", "--cache-url", url, "--data-dir", d);
    assertThat(named.code()).as(named.err()).isZero();
    assertThat(named.out()).isEqualTo("closure hello is " + top + "\n");
    assertThat(cached(top)).isTrue();
    assertThat(cached(dep)).isTrue(); // the whole closure was pushed
    // the push token went to nix in a netrc, never on its command line or in what pctl printed
    String pushToken = new CacheFiles(data).pushToken();
    assertThat(named.err() + named.out()).doesNotContain(pushToken);

    assertThat(pctl("closure", "get", "hello", "--cache-url", url, "--data-dir", d).out()).isEqualTo(top + "\n");
    // dep is in the cache now: no push needed
    assertThat(pctl("closure", "name", "base", dep, "--cache-url", url, "--data-dir", d).code()).isZero();
    PctlRun list = pctl("closure", "list", "--cache-url", url, "--data-dir", d);
    assertThat(list.code()).as(list.err()).isZero();
    assertThat(list.out()).matches("NAME +STORE PATH\nbase +" + java.util.regex.Pattern.quote(dep) + "\nhello +"
        + java.util.regex.Pattern.quote(top) + "\n");
    PctlRun json = pctl("closure", "list", "-o", "json", "--cache-url", url, "--data-dir", d);
    assertThat(ApiClient.JSON.readTree(json.out()).path(1).path("storePath").asText()).isEqualTo(top);
    assertThat(pctl("closure", "list", "-o", "yaml", "--cache-url", url, "--data-dir", d).out()).contains("- name: base\n  storePath: " + dep);

    // moving a name
    assertThat(pctl("closure", "name", "hello", dep, "--cache-url", url, "--data-dir", d).code()).isZero();
    assertThat(pctl("closure", "get", "hello", "--cache-url", url, "--data-dir", d).out()).isEqualTo(dep + "\n");

    PctlRun deleted = pctl("closure", "delete", "hello", "--cache-url", url, "--data-dir", d);
    assertThat(deleted.code()).as(deleted.err()).isZero();
    PctlRun absent = pctl("closure", "get", "hello", "--cache-url", url, "--data-dir", d);
    assertThat(absent.code()).isEqualTo(1);
    assertThat(absent.err()).isEqualTo("error: no closure is named hello\n");
    assertThat(pctl("closure", "delete", "hello", "--cache-url", url, "--data-dir", d).err()).isEqualTo("error: no closure is named hello\n");
  }

  @Test
  void aPathTheCacheLacksIsAClearErrorWithoutPush() throws Exception {
    String top = build();
    String url = cache.url();
    PctlRun r = pctl("closure", "name", "app", top, "--cache-url", url, "--data-dir", data.toString());
    assertThat(r.code()).isEqualTo(1);
    assertThat(r.err()).contains(top + " is not in this cache: push it first (nix copy --to " + url + " " + top + ")", "pass --push");
    assertThat(cached(top)).isFalse();
    // --push of a path this host does not have either
    String missing = top.substring(0, 11) + "0".repeat(32) + "-missing";
    PctlRun nowhere = pctl("closure", "name", "app", missing, "--push", "--cache-url", url, "--data-dir", data.toString());
    assertThat(nowhere.code()).isEqualTo(1);
    assertThat(nowhere.err()).startsWith("error: " + missing + " is not in this host's nix store");
    assertThat(pctl("closure", "name", "-bad", top, "--cache-url", url, "--data-dir", data.toString()).code()).isNotZero();
    assertThat(pctl("closure", "name", "app", "/tmp/x", "--cache-url", url, "--data-dir", data.toString()).err())
        .isEqualTo("error: '/tmp/x' is not a store path (/nix/store/HASH-NAME)\n");
  }

  @Test
  void tokensComeFromTheTokenFileTheDataDirOrTheUrl() throws Exception {
    String top = build();
    String url = cache.url();
    PctlRun pushed = pctl("closure", "name", "app", top, "--push", "--cache-url", url, "--token-file", new CacheFiles(data).pushTokenFile().toString());
    assertThat(pushed.code()).as(pushed.err()).isZero();
    // a read token reads, and may not write
    String readFile = new CacheFiles(data).readTokenFile().toString();
    assertThat(pctl("closure", "get", "app", "--cache-url", url, "--token-file", readFile).out()).isEqualTo(top + "\n");
    PctlRun refused = pctl("closure", "delete", "app", "--cache-url", url, "--token-file", readFile);
    assertThat(refused.code()).isEqualTo(1);
    assertThat(refused.err()).contains("answered 403", "pass --token-file");
    // a data dir without tokens: no push token to write with
    PctlRun none = pctl("closure", "delete", "app", "--cache-url", url, "--data-dir", tmp.resolve("empty").toString());
    assertThat(none.code()).isEqualTo(1);
    assertThat(none.err()).contains("no push token", "--token-file");
    PctlRun anonymous = pctl("closure", "list", "--cache-url", url, "--data-dir", tmp.resolve("empty").toString());
    assertThat(anonymous.err()).contains("answered 401");
    // the token in the URL, as nix is given it
    String withToken = "http://nix:" + new CacheFiles(data).pushToken() + "@127.0.0.1:" + cache.port();
    assertThat(pctl("closure", "delete", "app", "--cache-url", withToken, "--data-dir", tmp.resolve("empty").toString()).code()).isZero();
  }

  @Test
  void theCacheIsFoundThroughTheBinaryCachePctlUpRegisters() throws Exception {
    try (TestApiServer api = TestApiServer.embedded()) {
      UpCommand.registerCache(api.client(), UpCommand.OWN_CACHE, cache.url());
      Path kubeconfig = api.kubeconfig();
      PctlRun list = PctlRun.run(kubeconfig, "closure", "list", "--data-dir", data.toString());
      assertThat(list.code()).as(list.err()).isZero();
      assertThat(list.err()).isEqualTo("No closures are named in the cache at " + cache.url() + "/\n");
      // as 'pctl up' leaves it: the kubeconfig in the data directory, whose push token is then used
      Files.copy(kubeconfig, data.resolve("kubeconfig"));
      String top = build();
      PctlRun named = PctlRun.run(data.resolve("kubeconfig"), "closure", "name", "hello", top, "--push");
      assertThat(named.code()).as(named.err()).isZero();
      assertThat(PctlRun.run(data.resolve("kubeconfig"), "closure", "get", "hello").out()).isEqualTo(top + "\n");
    }
    // without an API server: where 'pctl up' starts the cache by default
    PctlRun fallback = pctl("closure", "list", "--data-dir", tmp.resolve("empty").toString());
    assertThat(fallback.err()).contains("http://127.0.0.1:7444/");
    // an API server that is down (with the cache it ran) is given up at once, not after minutes of retries
    int dead = closedPort();
    Path down = tmp.resolve("down.kubeconfig");
    Files.writeString(down, """
        apiVersion: v1
        kind: Config
        clusters: [{name: c, cluster: {server: "https://127.0.0.1:PORT", insecure-skip-tls-verify: true}}]
        users: [{name: u, user: {token: t}}]
        contexts: [{name: c, context: {cluster: c, user: u}}]
        current-context: c
        """.replace("PORT", Integer.toString(dead)));
    long started = System.nanoTime();
    PctlRun quick = PctlRun.run(down, "closure", "list", "--data-dir", tmp.resolve("empty").toString());
    assertThat(Duration.ofNanos(System.nanoTime() - started)).isLessThan(Duration.ofSeconds(10));
    assertThat(quick.err()).contains("http://127.0.0.1:7444/");
    // a cache that is not there says so, and what to pass
    PctlRun unreachable = pctl("closure", "list", "--cache-url", "http://127.0.0.1:" + dead, "--data-dir", data.toString());
    assertThat(unreachable.code()).isEqualTo(1);
    assertThat(unreachable.err()).isEqualTo("error: the cache at http://127.0.0.1:" + dead + "/ could not be reached: connection refused;"
        + " pass --cache-url URL\n");
  }

  /** A loopback port nothing listens on (bound by the kernel's choice, then closed). */
  private static int closedPort() throws java.io.IOException {
    try (java.net.ServerSocket s = new java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
      return s.getLocalPort();
    }
  }
}
