package dev.procurator.pctl;

import static org.assertj.core.api.Assertions.assertThat;

import dev.procurator.apiserver.testing.TestNames;
import dev.procurator.apiserver.testing.EtcdProcess;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A 1 GiB path goes into and out of a cache whose JVM has a 256 MiB heap: NARs are streamed, never held. */
class LargeNarIT {
  @TempDir Path dir;

  private String[] run(Path conf, String... cmd) throws Exception {
    PctlIT.Run r = NixCli.run(conf, dir, Duration.ofSeconds(300), cmd);
    assertThat(r.code()).as(String.join(" ", cmd) + "\n" + r.err()).isZero();
    return new String[] {r.out(), r.err()};
  }


  @Test
  void aOneGibPathPassesThroughA256MibHeap() throws Exception {
    Path cacheDir = dir.resolve("cache");
    Process cache = null;
    try {
      // a port found free may be taken before the cache binds it: then it is started again on another
      String url = null;
      for (int attempt = 1; url == null; attempt++) {
        int port = EtcdProcess.freePort();
        cache = new ProcessBuilder(PctlUp.java(), "--enable-native-access=ALL-UNNAMED", "-Xmx256m", "-jar",
            PctlUp.jar().toString(), "cache", "--dir", cacheDir.toString(), "--listen", "127.0.0.1:" + port)
            .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.appendTo(dir.resolve("cache.log").toFile())).start();
        if (answers(cache, "http://127.0.0.1:" + port)) {
          url = "http://127.0.0.1:" + port;
        } else {
          assertThat(attempt < 3 && Files.readString(dir.resolve("cache.log")).contains("Address already in use"))
              .as(Files.readString(dir.resolve("cache.log"))).isTrue();
        }
      }
      Path conf = dir.resolve("nixconf");
      Files.createDirectories(conf);
      Files.writeString(conf.resolve("nix.conf"), "experimental-features = nix-command\nbuild-users-group =\nsandbox = false\n"
          + "substituters =\nnarinfo-cache-negative-ttl = 0\nnarinfo-cache-positive-ttl = 0\n");
      Path netrc = dir.resolve("netrc");
      Files.writeString(netrc, "machine 127.0.0.1 login nix password " + Files.readString(cacheDir.resolve("cache-token")).trim() + "\n");
      String n = TestNames.unique("large");
      String out = run(conf, "nix", "build", "--no-link", "--json", "--impure", "--expr", "derivation { name = \"" + n
          + "\"; system = \"x86_64-linux\"; builder = \"/bin/sh\"; args = [\"-c\" \"/usr/bin/head -c 1073741824 /dev/urandom > $out\"]; }")[0];
      String path = out.replaceAll("(?s).*\"out\":\"([^\"]+)\".*", "$1");
      String hashBefore = run(conf, "nix", "hash", "path", path)[0].trim();

      run(conf, "nix", "copy", "--to", url + "?compression=none", "--option", "netrc-file", netrc.toString(), path);
      run(conf, "nix", "store", "delete", path);
      run(conf, "nix", "copy", "--from", url, "--option", "netrc-file", netrc.toString(),
          "--option", "trusted-public-keys", Files.readString(cacheDir.resolve("cache-key.pub")).trim(), path);
      assertThat(Files.size(Path.of(path))).isEqualTo(1L << 30);
      assertThat(run(conf, "nix", "hash", "path", path)[0].trim()).isEqualTo(hashBefore);
      run(conf, "nix", "store", "delete", path);
      assertThat(cache.isAlive()).as("the cache survived with a 256 MiB heap").isTrue();
      assertThat(Files.readString(dir.resolve("cache.log"))).doesNotContain("OutOfMemoryError");
    } finally {
      if (cache != null) {
        cache.destroy();
        cache.waitFor(20, TimeUnit.SECONDS);
      }
    }
  }

  /** Whether the cache process at {@code url} comes up (answers 401 to an anonymous read); false when it exits first. */
  private boolean answers(Process cache, String url) throws Exception {
    HttpClient http = HttpClient.newHttpClient();
    long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
    while (true) {
      try {
        if (http.send(HttpRequest.newBuilder(URI.create(url + "/nix-cache-info")).build(), HttpResponse.BodyHandlers.discarding())
            .statusCode() == 401) {
          return true;
        }
      } catch (java.io.IOException notYet) {
        if (!cache.isAlive()) {
          return false;
        }
        assertThat(System.nanoTime()).as(Files.readString(dir.resolve("cache.log"))).isLessThan(deadline);
        java.util.concurrent.locks.LockSupport.parkNanos(Duration.ofMillis(200).toNanos());
      }
    }
  }
}
