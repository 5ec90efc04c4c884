package dev.procurator.cachesrv;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Paths that nix pushes past a small cap: the oldest unpinned and unnamed go, pinned and named closures stay and still substitute. */
class NixEvictionIT {
  @TempDir Path tmp;

  private String run(Path conf, String... cmd) throws Exception {
    ProcessBuilder pb = new ProcessBuilder(cmd);
    pb.environment().put("NIX_CONF_DIR", conf.toString());
    pb.environment().put("XDG_CACHE_HOME", tmp.resolve("xdg").toString());
    Process p = pb.start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    String err = new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(p.waitFor(120, TimeUnit.SECONDS)).isTrue();
    assertThat(p.exitValue()).as(String.join(" ", cmd) + "\n" + err).isZero();
    return out;
  }

  @Test
  void nixPushesPastACapEvictOldestUnpinned() throws Exception {
    Path conf = tmp.resolve("conf");
    Files.createDirectories(conf);
    Files.writeString(conf.resolve("nix.conf"), "experimental-features = nix-command\nbuild-users-group =\nsandbox = false\n"
        + "substituters =\nnarinfo-cache-negative-ttl = 0\nnarinfo-cache-positive-ttl = 0\n");
    long n = ThreadLocalRandom.current().nextLong(1L << 48);
    List<String> paths = new ArrayList<>();
    for (int i = 0; i < 5; i++) {
      String out = run(conf, "nix", "build", "--no-link", "--json", "--impure", "--expr", "derivation { name = \"evict-" + n + "-" + i
          + "\"; system = \"x86_64-linux\"; builder = \"/bin/sh\"; args = [\"-c\" \"echo " + i + " > $out\"]; }");
      paths.add(out.replaceAll("(?s).*\"out\":\"([^\"]+)\".*", "$1"));
    }
    SigningKey key = SigningKey.generate("evict-1");
    // measure one path's footprint with an uncapped cache, then cap a new one at three and a half paths
    long one;
    try (CacheServer probe = new CacheServer(new CacheServer.Config("127.0.0.1", 0, tmp.resolve("probe"), key,
        Map.of("w", CacheServer.Access.WRITE), true, 40)).start()) {
      Files.writeString(tmp.resolve("netrc"), "machine 127.0.0.1 login nix password w\n");
      run(conf, "nix", "copy", "--to", probe.url(), "--option", "netrc-file", tmp.resolve("netrc").toString(), paths.get(0));
      one = probe.retention().totalBytes();
    }
    try (CacheServer cache = new CacheServer(new CacheServer.Config("127.0.0.1", 0, tmp.resolve("cache"), key,
        Map.of("w", CacheServer.Access.WRITE), true, 40, one * 7 / 2)).start()) {
      String netrc = tmp.resolve("netrc").toString();
      cache.retention().pin(Retention.hashPart(paths.get(0)));
      for (String p : paths) {
        run(conf, "nix", "copy", "--to", cache.url(), "--option", "netrc-file", netrc, p);
      }
      List<Boolean> present = new ArrayList<>();
      for (String p : paths) {
        present.add(cache.store().size("narinfo/" + Retention.hashPart(p) + ".narinfo") >= 0);
      }
      // pinned path 0 stays; 1 and 2 were the least recently used unpinned paths
      assertThat(present).containsExactly(true, false, false, true, true);

      run(conf, "nix", "store", "delete", paths.get(0));
      run(conf, "nix-store", "--realise", paths.get(0), "--option", "substituters", cache.url(),
          "--option", "trusted-public-keys", key.publicText());
      assertThat(Path.of(paths.get(0))).exists();
    }
  }

  @Test
  void aNamedClosureNixPushedStaysWhileUnnamedPathsAreEvicted() throws Exception {
    Path conf = tmp.resolve("conf");
    Files.createDirectories(conf);
    Files.writeString(conf.resolve("nix.conf"), "experimental-features = nix-command\nbuild-users-group =\nsandbox = false\n"
        + "substituters =\nnarinfo-cache-negative-ttl = 0\nnarinfo-cache-positive-ttl = 0\n");
    long n = ThreadLocalRandom.current().nextLong(1L << 48);
    // top references dep: the name must keep both
    String top = run(conf, "nix", "build", "--no-link", "--json", "--impure", "--expr", "let dep = derivation { name = \"named-dep-" + n
        + "\"; system = \"x86_64-linux\"; builder = \"/bin/sh\"; args = [\"-c\" \"echo dep > $out\"]; }; in derivation { name = \"named-top-"
        + n + "\"; system = \"x86_64-linux\"; builder = \"/bin/sh\"; args = [\"-c\" \"echo ${dep} > $out\"]; }")
        .replaceAll("(?s).*\"out\":\"([^\"]+)\".*", "$1");
    String dep = Files.readString(Path.of(top)).trim();
    List<String> unnamed = new ArrayList<>();
    for (int i = 0; i < 4; i++) {
      String out = run(conf, "nix", "build", "--no-link", "--json", "--impure", "--expr", "derivation { name = \"unnamed-" + n + "-" + i
          + "\"; system = \"x86_64-linux\"; builder = \"/bin/sh\"; args = [\"-c\" \"echo " + i + " > $out\"]; }");
      unnamed.add(out.replaceAll("(?s).*\"out\":\"([^\"]+)\".*", "$1"));
    }
    SigningKey key = SigningKey.generate("named-1");
    Files.writeString(tmp.resolve("netrc"), "machine 127.0.0.1 login nix password w\n");
    String netrc = tmp.resolve("netrc").toString();
    long one;
    try (CacheServer probe = new CacheServer(new CacheServer.Config("127.0.0.1", 0, tmp.resolve("probe"), key,
        Map.of("w", CacheServer.Access.WRITE), true, 40)).start()) {
      run(conf, "nix", "copy", "--to", probe.url(), "--option", "netrc-file", netrc, unnamed.get(0));
      one = probe.retention().totalBytes();
    }
    // room for the named closure and about two more paths
    try (CacheServer cache = new CacheServer(new CacheServer.Config("127.0.0.1", 0, tmp.resolve("cache"), key,
        Map.of("w", CacheServer.Access.WRITE), true, 40, one * 9 / 2)).start()) {
      run(conf, "nix", "copy", "--to", cache.url(), "--option", "netrc-file", netrc, top);
      dev.procurator.api.nix.ClosureNames.at(cache.url(), "w").set("app", top);
      for (String p : unnamed) {
        run(conf, "nix", "copy", "--to", cache.url(), "--option", "netrc-file", netrc, p);
      }
      assertThat(cache.retention().evictions()).isPositive();
      assertThat(cache.store().size("narinfo/" + Retention.hashPart(top) + ".narinfo")).isNotNegative();
      assertThat(cache.store().size("narinfo/" + Retention.hashPart(dep) + ".narinfo")).isNotNegative();
      assertThat(cache.store().size("narinfo/" + Retention.hashPart(unnamed.get(0)) + ".narinfo")).isNegative();
      assertThat(cache.store().size("narinfo/" + Retention.hashPart(unnamed.get(3)) + ".narinfo")).isNotNegative();

      run(conf, "nix", "store", "delete", top, dep);
      run(conf, "nix-store", "--realise", top, "--option", "substituters", cache.url(),
          "--option", "trusted-public-keys", key.publicText());
      assertThat(Path.of(dep)).exists();
    }
  }
}
