package dev.procurator.cachesrv;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.Base64;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Uploads that do not add up are refused with 400 and a reason, and nothing of them is served. */
class UploadValidationIT {
  @TempDir Path dir;
  private CacheServer cache;
  private final HttpClient http = HttpClient.newHttpClient();
  private static final String TOKEN = "w";
  private static final String HASH = "0c3ghl2pfmxw7kxq2hyd5d44fbxrhz0y";

  @BeforeEach
  void start() throws Exception {
    cache = new CacheServer(new CacheServer.Config("127.0.0.1", 0, dir, SigningKey.generate("t-1"),
        Map.of(TOKEN, CacheServer.Access.WRITE, "r", CacheServer.Access.READ), false, 40)).start();
  }

  @AfterEach
  void stop() {
    cache.close();
  }

  private HttpResponse<String> send(String method, String path, byte[] body, String token) throws Exception {
    HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(cache.url() + path))
        .method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofByteArray(body));
    if (token != null) {
      b.header("Authorization", "Basic " + Base64.getEncoder().encodeToString(("nix:" + token).getBytes(StandardCharsets.UTF_8)));
    }
    return http.send(b.build(), HttpResponse.BodyHandlers.ofString());
  }

  private static String sha(byte[] b) throws Exception {
    return NixBase32.encode(MessageDigest.getInstance("SHA-256").digest(b));
  }

  private String narinfo(byte[] nar, String narHash, long narSize) throws Exception {
    return "StorePath: /nix/store/" + HASH + "-hello\nURL: nar/" + sha(nar) + ".nar\nCompression: none\nNarHash: sha256:"
        + narHash + "\nNarSize: " + narSize + "\nReferences: \n";
  }

  @Test
  void aConsistentUploadIsServedSigned() throws Exception {
    byte[] nar = FormatsTest.nar("hello\n");
    assertThat(send("PUT", "/nar/" + sha(nar) + ".nar", nar, TOKEN).statusCode()).isEqualTo(200);
    assertThat(send("PUT", "/" + HASH + ".narinfo", narinfo(nar, sha(nar), nar.length).getBytes(StandardCharsets.UTF_8), TOKEN).statusCode()).isEqualTo(200);

    HttpResponse<String> got = send("GET", "/" + HASH + ".narinfo", null, "r");
    assertThat(got.statusCode()).isEqualTo(200);
    assertThat(got.headers().firstValue("Content-Type")).hasValue("text/x-nix-narinfo");
    assertThat(got.body()).contains("Sig: t-1:");
    assertThat(send("HEAD", "/nar/" + sha(nar) + ".nar", null, "r").statusCode()).isEqualTo(200);
    HttpResponse<String> range = http.send(HttpRequest.newBuilder(URI.create(cache.url() + "/nar/" + sha(nar) + ".nar"))
        .header("Authorization", "Basic " + Base64.getEncoder().encodeToString("x:r".getBytes(StandardCharsets.UTF_8))).header("Range", "bytes=0-12").build(),
        HttpResponse.BodyHandlers.ofString());
    assertThat(range.statusCode()).isEqualTo(206);
    assertThat(range.body()).hasSize(13);
    assertThat(send("GET", "/nix-cache-info", null, "r").body()).contains("StoreDir: /nix/store");
  }

  @Test
  void aNarWhoseNameIsNotItsHashIsRefused() throws Exception {
    byte[] nar = FormatsTest.nar("hello\n");
    HttpResponse<String> r = send("PUT", "/nar/" + sha("other".getBytes(StandardCharsets.UTF_8)) + ".nar", nar, TOKEN);
    assertThat(r.statusCode()).isEqualTo(400);
    assertThat(r.body()).contains("hashes to");
    try (var files = Files.list(dir.resolve("nar"))) {
      assertThat(files.count()).isZero();
    }
  }

  @Test
  void narinfosThatDoNotMatchTheirNarAreRefused() throws Exception {
    byte[] nar = FormatsTest.nar("hello\n");
    send("PUT", "/nar/" + sha(nar) + ".nar", nar, TOKEN);

    HttpResponse<String> wrongHash = send("PUT", "/" + HASH + ".narinfo", narinfo(nar, sha("x".getBytes(StandardCharsets.UTF_8)), nar.length).getBytes(StandardCharsets.UTF_8), TOKEN);
    assertThat(wrongHash.statusCode()).isEqualTo(400);
    assertThat(wrongHash.body()).contains("NarHash");
    HttpResponse<String> wrongSize = send("PUT", "/" + HASH + ".narinfo", narinfo(nar, sha(nar), nar.length + 1).getBytes(StandardCharsets.UTF_8), TOKEN);
    assertThat(wrongSize.statusCode()).isEqualTo(400);
    assertThat(wrongSize.body()).contains("NarSize");
    HttpResponse<String> wrongPlace = send("PUT", "/" + "1".repeat(32) + ".narinfo", narinfo(nar, sha(nar), nar.length).getBytes(StandardCharsets.UTF_8), TOKEN);
    assertThat(wrongPlace.statusCode()).isEqualTo(400);
    HttpResponse<String> garbage = send("PUT", "/" + HASH + ".narinfo", "this is not a narinfo".getBytes(StandardCharsets.UTF_8), TOKEN);
    assertThat(garbage.statusCode()).isEqualTo(400);
    assertThat(send("GET", "/" + HASH + ".narinfo", null, "r").statusCode()).isEqualTo(404);
  }

  @Test
  void aNarThatIsNotANarIsRefused() throws Exception {
    byte[] junk = "definitely not an archive".getBytes(StandardCharsets.UTF_8);
    HttpResponse<String> r = send("PUT", "/nar/" + sha(junk) + ".nar", junk, TOKEN);
    assertThat(r.statusCode()).isEqualTo(400);
    assertThat(r.body()).contains("not a NAR");
    HttpResponse<String> xz = send("PUT", "/nar/" + sha(junk) + ".nar.xz", junk, TOKEN);
    assertThat(xz.statusCode()).isEqualTo(400);
    assertThat(send("GET", "/nar/" + sha(junk) + ".nar", null, "r").statusCode()).isEqualTo(404);
    HttpResponse<String> info = send("PUT", "/" + HASH + ".narinfo", narinfo(junk, sha(junk), junk.length).getBytes(StandardCharsets.UTF_8), TOKEN);
    assertThat(info.statusCode()).isEqualTo(400);
    assertThat(info.body()).contains("before its narinfo");
  }

  @Test
  void buildLogsGoUpAndComeBack() throws Exception {
    String drv = "/log/" + HASH + "-hello.drv";
    assertThat(send("PUT", drv, "building hello\ndone\n".getBytes(StandardCharsets.UTF_8), TOKEN).statusCode()).isEqualTo(200);
    HttpResponse<String> got = send("GET", drv, null, "r");
    assertThat(got.statusCode()).isEqualTo(200);
    assertThat(got.body()).isEqualTo("building hello\ndone\n");
    assertThat(got.headers().firstValue("Content-Type")).hasValueSatisfying(t -> assertThat(t).startsWith("text/plain"));
  }

  @Test
  void anonymousReadServesWithoutATokenButStillGuardsWrites() throws Exception {
    try (CacheServer open = new CacheServer(new CacheServer.Config("127.0.0.1", 0, dir.resolve("open"), SigningKey.generate("o-1"),
        Map.of(TOKEN, CacheServer.Access.WRITE), true, 40)).start()) {
      HttpResponse<String> info = http.send(HttpRequest.newBuilder(URI.create(open.url() + "/nix-cache-info")).build(),
          HttpResponse.BodyHandlers.ofString());
      assertThat(info.statusCode()).isEqualTo(200);
      assertThat(info.body()).contains("StoreDir: /nix/store", "Priority: 40");
      HttpResponse<String> put = http.send(HttpRequest.newBuilder(URI.create(open.url() + "/nar/" + sha(new byte[0]) + ".nar"))
          .PUT(HttpRequest.BodyPublishers.noBody()).build(), HttpResponse.BodyHandlers.ofString());
      assertThat(put.statusCode()).isEqualTo(401);
    }
  }

  @Test
  void credentialsAreChecked() throws Exception {
    assertThat(send("GET", "/nix-cache-info", null, null).statusCode()).isEqualTo(401);
    assertThat(send("GET", "/nix-cache-info", null, "wrong").statusCode()).isEqualTo(401);
    assertThat(send("PUT", "/nar/" + sha(new byte[0]) + ".nar", new byte[0], "r").statusCode()).isEqualTo(403);
    assertThat(send("PUT", "/nar/" + sha(new byte[0]) + ".nar", new byte[0], null).statusCode()).isEqualTo(401);
    assertThat(send("DELETE", "/nix-cache-info", null, TOKEN).statusCode()).isEqualTo(405);
  }

  /** A NAR of one regular file of {@code size} zero bytes, zstd-compressed: a few KiB that expand to {@code size}. */
  private static byte[] zeroNarZstd(long size) throws Exception {
    java.io.ByteArrayOutputStream compressed = new java.io.ByteArrayOutputStream();
    try (var z = new com.github.luben.zstd.ZstdOutputStream(compressed)) {
      for (String part : new String[] {"nix-archive-1", "(", "type", "regular", "contents"}) {
        writeString(z, part.getBytes(StandardCharsets.UTF_8));
      }
      writeLong(z, size);
      byte[] zeros = new byte[1 << 20];
      for (long left = size; left > 0; left -= zeros.length) {
        z.write(zeros, 0, (int) Math.min(zeros.length, left));
      }
      writeString(z, ")".getBytes(StandardCharsets.UTF_8));
    }
    return compressed.toByteArray();
  }

  private static void writeLong(java.io.OutputStream out, long n) throws java.io.IOException {
    for (int i = 0; i < 8; i++) {
      out.write((int) (n >>> (8 * i)) & 0xff);
    }
  }

  private static void writeString(java.io.OutputStream out, byte[] b) throws java.io.IOException {
    writeLong(out, b.length);
    out.write(b);
    out.write(new byte[(int) ((8 - b.length % 8) % 8)]);
  }

  @Test
  void aDecompressionBombIsRefusedAsOne() throws Exception {
    byte[] bomb = zeroNarZstd(256L << 20);
    assertThat(bomb.length).isLessThan(64 * 1024);
    HttpResponse<String> r = send("PUT", "/nar/" + sha(bomb) + ".nar.zst", bomb, TOKEN);
    assertThat(r.statusCode()).isEqualTo(400);
    assertThat(r.body()).contains("decompression bomb");
    assertThat(send("GET", "/nar/" + sha(bomb) + ".nar.zst", null, "r").statusCode()).isEqualTo(404);
  }

  @Test
  void aWellCompressedNarWithinTheRatioIsStored() throws Exception {
    byte[] nar = zeroNarZstd(512 << 10);
    assertThat(send("PUT", "/nar/" + sha(nar) + ".nar.zst", nar, TOKEN).statusCode()).isEqualTo(200);
  }

  @Test
  void oversizedNarinfosAndPinsGet413WithoutBeingBuffered() throws Exception {
    byte[] big = new byte[2 << 20];
    java.util.Arrays.fill(big, (byte) 'x');
    HttpResponse<String> narinfo = send("PUT", "/" + HASH + ".narinfo", big, TOKEN);
    assertThat(narinfo.statusCode()).isEqualTo(413);
    assertThat(narinfo.body()).contains("larger than");
    // without a Content-Length (chunked), the body is cut off at the limit too
    HttpResponse<String> chunked = http.send(HttpRequest.newBuilder(URI.create(cache.url() + "/" + HASH + ".narinfo"))
        .header("Authorization", "Basic " + Base64.getEncoder().encodeToString(("nix:" + TOKEN).getBytes(StandardCharsets.UTF_8)))
        .PUT(HttpRequest.BodyPublishers.ofInputStream(() -> new java.io.ByteArrayInputStream(big))).build(), HttpResponse.BodyHandlers.ofString());
    assertThat(chunked.statusCode()).isEqualTo(413);
    HttpResponse<String> pin = send("PUT", "/pins/" + HASH, big, TOKEN);
    assertThat(pin.statusCode()).isEqualTo(413);
    assertThat(send("GET", "/pins", null, "r").body()).doesNotContain(HASH);
    // the cache still answers afterwards
    assertThat(send("GET", "/nix-cache-info", null, "r").statusCode()).isEqualTo(200);
  }
}
