package dev.procurator.cachesrv;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.Arrays;
import java.util.Base64;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Under a size cap the least recently used paths go first, whole, and pinned closures stay. */
class EvictionIT {
  @TempDir Path dir;
  private final HttpClient http = HttpClient.newHttpClient();

  private CacheServer start(long cap) throws Exception {
    return new CacheServer(new CacheServer.Config("127.0.0.1", 0, dir, SigningKey.generate("t-1"),
        Map.of("w", CacheServer.Access.WRITE), false, 40, cap)).start();
  }

  private int send(CacheServer c, String method, String path, byte[] body) throws Exception {
    return http.send(HttpRequest.newBuilder(URI.create(c.url() + path))
        .header("Authorization", "Basic " + Base64.getEncoder().encodeToString("nix:w".getBytes(StandardCharsets.UTF_8)))
        .method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofByteArray(body)).build(),
        HttpResponse.BodyHandlers.discarding()).statusCode();
  }

  private static String hashPart(int i) throws Exception {
    byte[] d = MessageDigest.getInstance("SHA-256").digest(("path-" + i).getBytes(StandardCharsets.UTF_8));
    return NixBase32.encode(Arrays.copyOf(d, 20));
  }

  /** Uploads path i (optionally referencing path ref) and returns its NAR file name. */
  private String upload(CacheServer c, int i, Integer ref) throws Exception {
    byte[] nar = FormatsTest.nar("contents of path " + i + "\n");
    String sha = NixBase32.encode(MessageDigest.getInstance("SHA-256").digest(nar));
    assertThat(send(c, "PUT", "/nar/" + sha + ".nar", nar)).isEqualTo(200);
    String narinfo = "StorePath: /nix/store/" + hashPart(i) + "-p" + i + "\nURL: nar/" + sha + ".nar\nCompression: none\n"
        + "NarHash: sha256:" + sha + "\nNarSize: " + nar.length + "\nReferences: "
        + (ref == null ? "" : hashPart(ref) + "-p" + ref) + "\n";
    assertThat(send(c, "PUT", "/" + hashPart(i) + ".narinfo", narinfo.getBytes(StandardCharsets.UTF_8))).isEqualTo(200);
    return sha + ".nar";
  }

  private boolean present(CacheServer c, int i) throws Exception {
    return send(c, "GET", "/" + hashPart(i) + ".narinfo", null) == 200;
  }

  @Test
  void leastRecentlyUsedUnpinnedPathsAreEvictedWhole() throws Exception {
    long one;
    try (CacheServer c = start(0)) {
      // measure the size of one path, then cap the cache at a little over three of them
      upload(c, 0, null);
      one = c.retention().totalBytes();
      assertThat(one).isPositive();
    }
    try (var files = java.nio.file.Files.walk(dir)) {
      files.sorted(java.util.Comparator.reverseOrder()).filter(p -> !p.equals(dir)).forEach(p -> p.toFile().delete());
    }
    {
      try (CacheServer capped = start(one * 3 + one / 2)) {
        upload(capped, 1, null);
        upload(capped, 2, 1); // 2 references 1
        upload(capped, 3, null);
        assertThat(send(capped, "PUT", "/pins/" + hashPart(2), new byte[0])).isEqualTo(200);
        assertThat(present(capped, 3)).isTrue(); // 3 used after 1 and 2
        String nar4 = upload(capped, 4, null);
        // over the cap: 1 and 2 are pinned (2 as a root, 1 as its reference), so 3 goes
        assertThat(present(capped, 3)).isFalse();
        assertThat(present(capped, 1)).isTrue();
        assertThat(present(capped, 2)).isTrue();
        assertThat(present(capped, 4)).isTrue();
        assertThat(send(capped, "GET", "/nar/" + nar4, null)).isEqualTo(200);
        upload(capped, 5, null);
        assertThat(present(capped, 4)).isFalse();
        assertThat(send(capped, "GET", "/nar/" + nar4, null)).isEqualTo(404);
        assertThat(capped.retention().totalBytes()).isLessThanOrEqualTo(one * 3 + one / 2);

        String metrics = http.send(HttpRequest.newBuilder(URI.create(capped.url() + "/metrics"))
            .header("Authorization", "Basic " + Base64.getEncoder().encodeToString("nix:w".getBytes(StandardCharsets.UTF_8))).build(),
            HttpResponse.BodyHandlers.ofString()).body();
        assertThat(metrics).contains("cache_evictions_total 2.0", "cache_objects 3.0", "cache_narinfo_misses_total",
            "cache_request_seconds_bucket", "cache_received_bytes_total", "cache_served_bytes_total");
      }
      // pins survive a restart
      try (CacheServer again = start(one * 3 + one / 2)) {
        assertThat(again.retention().pins()).containsExactly(hashPart(2));
        assertThat(again.retention().objects()).isEqualTo(3);
      }
    }
  }
}
