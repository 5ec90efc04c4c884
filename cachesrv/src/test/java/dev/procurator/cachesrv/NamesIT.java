package dev.procurator.cachesrv;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.procurator.api.nix.ClosureNames;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.Arrays;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Closure names against a real cache: set, read, moved, removed, authorised, refused, kept across
 * restarts and by eviction, over HTTP and through the {@link ClosureNames} client.
 */
class NamesIT {
  static final String PUSH = "push-" + ThreadLocalRandom.current().nextLong(1L << 40);
  static final String READ = "read-" + ThreadLocalRandom.current().nextLong(1L << 40);

  @TempDir Path dir;
  private final HttpClient http = HttpClient.newHttpClient();
  private final long run = ThreadLocalRandom.current().nextLong(1L << 40);
  private SigningKey key;
  private BlobStore store;
  private CacheServer cache;

  record Answer(int code, String body) {}

  /** The store under the cache: null for the default file store. */
  protected BlobStore store(Path dir) throws Exception {
    return null;
  }

  @BeforeEach
  void setUp() throws Exception {
    key = SigningKey.generate("names-1");
    store = store(dir);
  }

  @AfterEach
  void tearDown() {
    if (cache != null) {
      cache.close();
    }
  }

  private CacheServer start(long cap, boolean anonymousRead) throws Exception {
    if (cache != null) {
      cache.close();
    }
    cache = new CacheServer(new CacheServer.Config("127.0.0.1", 0, dir.resolve("cache"), key,
        Map.of(PUSH, CacheServer.Access.WRITE, READ, CacheServer.Access.READ), anonymousRead, 40, cap, store)).start();
    return cache;
  }

  /** A cache without a size cap and without anonymous reads. */
  CacheServer startPlain() throws Exception {
    return start(0, false);
  }

  Answer send(String token, String method, String path, String body) throws Exception {
    HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(cache.url() + path))
        .method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body));
    if (token != null) {
      b.header("Authorization", "Basic " + Base64.getEncoder().encodeToString(("nix:" + token).getBytes(StandardCharsets.UTF_8)));
    }
    HttpResponse<String> r = http.send(b.build(), HttpResponse.BodyHandlers.ofString());
    return new Answer(r.statusCode(), r.body());
  }

  private String hashPart(int i) throws Exception {
    byte[] d = MessageDigest.getInstance("SHA-256").digest(("names-" + run + "-" + i).getBytes(StandardCharsets.UTF_8));
    return NixBase32.encode(Arrays.copyOf(d, 20));
  }

  String path(int i) throws Exception {
    return "/nix/store/" + hashPart(i) + "-a-rather-long-name-as-store-paths-have-" + i;
  }

  /** Uploads path i, optionally referencing path ref. */
  void upload(int i, Integer ref) throws Exception {
    byte[] nar = FormatsTest.nar("contents of path " + run + " " + i + "\n");
    String sha = NixBase32.encode(MessageDigest.getInstance("SHA-256").digest(nar));
    HttpResponse<Void> r = http.send(HttpRequest.newBuilder(URI.create(cache.url() + "/nar/" + sha + ".nar"))
        .header("Authorization", "Basic " + Base64.getEncoder().encodeToString(("nix:" + PUSH).getBytes(StandardCharsets.UTF_8)))
        .PUT(HttpRequest.BodyPublishers.ofByteArray(nar)).build(), HttpResponse.BodyHandlers.discarding());
    assertThat(r.statusCode()).isEqualTo(200);
    String narinfo = "StorePath: " + path(i) + "\nURL: nar/" + sha + ".nar\nCompression: none\n"
        + "NarHash: sha256:" + sha + "\nNarSize: " + nar.length + "\nReferences: " + (ref == null ? "" : path(ref).substring(11)) + "\n";
    assertThat(send(PUSH, "PUT", "/" + hashPart(i) + ".narinfo", narinfo).code()).isEqualTo(200);
  }

  private boolean present(int i) throws Exception {
    return send(PUSH, "GET", "/" + hashPart(i) + ".narinfo", null).code() == 200;
  }

  @Test
  void namesAreSetReadListedMovedAndRemoved() throws Exception {
    start(0, false);
    upload(1, null);
    upload(2, null);
    assertThat(send(PUSH, "GET", "/names", null)).isEqualTo(new Answer(200, ""));
    assertThat(send(PUSH, "PUT", "/names/hello", path(1)).code()).isEqualTo(200);
    assertThat(send(PUSH, "PUT", "/names/world", "  " + path(2) + "\n\n").code()).isEqualTo(200); // whitespace is trimmed
    assertThat(send(PUSH, "GET", "/names/hello", null)).isEqualTo(new Answer(200, path(1) + "\n"));
    assertThat(send(READ, "HEAD", "/names/hello", null).code()).isEqualTo(200);
    assertThat(send(PUSH, "GET", "/names", null)).isEqualTo(new Answer(200, "hello " + path(1) + "\nworld " + path(2) + "\n"));
    // naming another path moves the name
    assertThat(send(PUSH, "PUT", "/names/hello", path(2)).code()).isEqualTo(200);
    assertThat(send(PUSH, "GET", "/names/hello", null).body()).isEqualTo(path(2) + "\n");
    assertThat(metrics()).contains("cache_names 2.0");

    assertThat(send(PUSH, "DELETE", "/names/hello", null).code()).isEqualTo(200);
    assertThat(send(PUSH, "DELETE", "/names/hello", null)).isEqualTo(new Answer(404, "no closure is named hello\n"));
    assertThat(send(PUSH, "GET", "/names/hello", null)).isEqualTo(new Answer(404, "no closure is named hello\n"));
    assertThat(send(PUSH, "GET", "/names", null).body()).isEqualTo("world " + path(2) + "\n");
    assertThat(metrics()).contains("cache_names 1.0");
  }

  private String metrics() throws Exception {
    return send(READ, "GET", "/metrics", null).body();
  }

  @Test
  void readsNeedAReadTokenAndWritesThePushToken() throws Exception {
    start(0, false);
    upload(1, null);
    assertThat(send(null, "GET", "/names", null).code()).isEqualTo(401);
    assertThat(send(null, "GET", "/names/a", null).code()).isEqualTo(401);
    assertThat(send(null, "PUT", "/names/a", path(1)).code()).isEqualTo(401);
    assertThat(send("wrong", "PUT", "/names/a", path(1)).code()).isEqualTo(401);
    assertThat(send(READ, "PUT", "/names/a", path(1)).code()).isEqualTo(403);
    assertThat(send(PUSH, "PUT", "/names/a", path(1)).code()).isEqualTo(200);
    assertThat(send(READ, "GET", "/names/a", null).code()).isEqualTo(200);
    assertThat(send(READ, "GET", "/names", null).code()).isEqualTo(200);
    assertThat(send(READ, "DELETE", "/names/a", null).code()).isEqualTo(403);
    assertThat(send(null, "DELETE", "/names/a", null).code()).isEqualTo(401);
    assertThat(send(READ, "GET", "/names/a", null).code()).isEqualTo(200);

    start(0, true);
    assertThat(send(null, "GET", "/names", null)).isEqualTo(new Answer(200, "a " + path(1) + "\n"));
    assertThat(send(null, "GET", "/names/a", null).code()).isEqualTo(200);
    assertThat(send(null, "PUT", "/names/b", path(1)).code()).isEqualTo(401);
    assertThat(send(null, "DELETE", "/names/a", null).code()).isEqualTo(401);
  }

  /** Metrics need a token even when anything else may be read by all: they tell what the cache holds, and its cap. */
  @Test
  void metricsNeedATokenEvenWithAnonymousReads() throws Exception {
    start(1 << 30, true);
    upload(1, null);
    assertThat(send(null, "GET", "/" + hashPart(1) + ".narinfo", null).code()).isEqualTo(200);
    Answer anonymous = send(null, "GET", "/metrics", null);
    assertThat(anonymous.code()).isEqualTo(401);
    assertThat(anonymous.body()).doesNotContain("cache_");
    assertThat(send("wrong", "GET", "/metrics", null).code()).isEqualTo(401);
    Answer read = send(READ, "GET", "/metrics", null);
    assertThat(read.code()).isEqualTo(200);
    assertThat(read.body()).contains("cache_max_bytes 1.073741824E9", "cache_stored_bytes ");
  }

  @Test
  void badNamesBadBodiesAndPathsTheCacheLacksAreRefused() throws Exception {
    start(0, false);
    upload(1, null);
    Answer badName = send(PUSH, "PUT", "/names/.hidden", path(1));
    assertThat(badName.code()).isEqualTo(400);
    assertThat(badName.body()).contains("'.hidden' is not a closure name");
    assertThat(send(PUSH, "PUT", "/names/" + "a".repeat(129), path(1)).code()).isEqualTo(400);
    assertThat(send(PUSH, "PUT", "/names/" + "a".repeat(128), path(1)).code()).isEqualTo(200);
    Answer notAPath = send(PUSH, "PUT", "/names/app", "hello");
    assertThat(notAPath.code()).isEqualTo(400);
    assertThat(notAPath.body()).contains("must be a store path (/nix/store/HASH-NAME), not 'hello'");
    assertThat(send(PUSH, "PUT", "/names/app", "").code()).isEqualTo(400);
    assertThat(send(PUSH, "DELETE", "/names/.hidden", null).code()).isEqualTo(400);
    assertThat(send(PUSH, "PUT", "/names/app", path(1) + " " + path(1)).code()).isEqualTo(400);
    // the hash part of a path it holds, with another name, is another path: not one it holds
    String otherName = "/nix/store/" + hashPart(1) + "-another-name";
    assertThat(send(PUSH, "PUT", "/names/app", otherName)).isEqualTo(new Answer(404, otherName
        + " is not in this cache: push it first (nix copy --to " + cache.url() + " " + otherName + ")\n"));
    Answer absent = send(PUSH, "PUT", "/names/app", path(2));
    assertThat(absent).isEqualTo(new Answer(404, path(2) + " is not in this cache: push it first (nix copy --to " + cache.url() + " "
        + path(2) + ")\n"));
    // 64 KiB at most, answered 413 at once
    assertThat(send(PUSH, "PUT", "/names/app", "/".repeat(70_000)).code()).isEqualTo(413);
    assertThat(send(PUSH, "GET", "/names/app", null).code()).isEqualTo(404);
    assertThat(send(PUSH, "GET", "/names", null).body()).isEqualTo("a".repeat(128) + " " + path(1) + "\n");
  }

  @Test
  void namesSurviveARestart() throws Exception {
    start(0, false);
    upload(1, null);
    upload(2, null);
    assertThat(send(PUSH, "PUT", "/names/one", path(1)).code()).isEqualTo(200);
    assertThat(send(PUSH, "PUT", "/names/two", path(2)).code()).isEqualTo(200);
    assertThat(send(PUSH, "DELETE", "/names/two", null).code()).isEqualTo(200);
    start(0, false);
    assertThat(send(READ, "GET", "/names", null).body()).isEqualTo("one " + path(1) + "\n");
    assertThat(send(READ, "GET", "/names/one", null).body()).isEqualTo(path(1) + "\n");
    assertThat(metrics()).contains("cache_names 1.0");
  }

  @Test
  void evictionKeepsNamedClosuresAndWhatTheyReference() throws Exception {
    start(0, false);
    upload(0, null);
    long one = cache.retention().totalBytes();
    long cap = one * 7 / 2; // room for three paths and a half (their sizes differ by a byte or two)
    start(cap, false);
    upload(1, null);
    upload(2, 1); // 2 references 1
    upload(3, null);
    assertThat(send(PUSH, "PUT", "/names/app", path(2)).code()).isEqualTo(200);
    assertThat(present(3)).isTrue(); // 3 is used after 1 and 2
    upload(4, null);
    // over the cap: 0 (unnamed, oldest) and 3 go, 2 (named) and 1 (its reference) stay
    assertThat(present(0)).isFalse();
    assertThat(present(3)).isFalse();
    assertThat(present(1)).isTrue();
    assertThat(present(2)).isTrue();

    // the name keeps them after a restart too
    start(cap, false);
    upload(5, null);
    assertThat(present(4)).isFalse();
    assertThat(present(1)).isTrue();
    assertThat(present(2)).isTrue();

    // once the name is gone, they are ordinary paths again: 1, used longest ago, goes
    assertThat(send(PUSH, "DELETE", "/names/app", null).code()).isEqualTo(200);
    assertThat(present(5)).isTrue();
    upload(6, null);
    assertThat(present(1)).isFalse();
    assertThat(present(2)).isTrue();
    assertThat(present(5)).isTrue();
    assertThat(present(6)).isTrue();
  }

  @Test
  void aNameWhosePathWasRemovedStillResolves() throws Exception {
    start(0, false);
    upload(1, null);
    assertThat(send(PUSH, "PUT", "/names/app", path(1)).code()).isEqualTo(200);
    cache.close();
    cache = null;
    (store != null ? store : new FileStore(dir.resolve("cache"))).delete("narinfo/" + hashPart(1) + ".narinfo");
    start(1, false);
    upload(2, null);
    assertThat(send(READ, "GET", "/names/app", null)).isEqualTo(new Answer(200, path(1) + "\n"));
    assertThat(present(1)).isFalse();
  }

  /** The {@link ClosureNames} client, which the agent, the controllers and pctl use. */
  @Test
  void theClientSetsResolvesListsAndDeletesWithTheTokenInTheUrlOrGiven() throws Exception {
    CacheServer c = startPlain();
    upload(1, null);
    upload(2, null);
    // as nix is given the cache: the token as the password in the URL, with nix's options after it
    ClosureNames inUrl = ClosureNames.at("http://nix:" + PUSH + "@127.0.0.1:" + c.port() + "?compression=none", null);
    assertThat(inUrl.base().toString()).isEqualTo(c.url() + "/");
    inUrl.set("hello", path(1));
    inUrl.set("world", path(2));
    assertThat(inUrl.resolve("hello")).contains(path(1));
    inUrl.set("hello", path(2));
    assertThat(inUrl.resolve("hello")).contains(path(2));

    ClosureNames reader = ClosureNames.at(c.url(), READ);
    assertThat(reader.list()).containsExactly(new ClosureNames.Entry("hello", path(2)), new ClosureNames.Entry("world", path(2)));
    assertThat(reader.resolve("nothing")).isEmpty();
    assertThatThrownBy(() -> reader.set("x", path(1))).isInstanceOf(IOException.class).hasMessageContaining("403");
    assertThatThrownBy(() -> ClosureNames.at(c.url(), null).list()).isInstanceOf(IOException.class).hasMessageContaining("401");

    ClosureNames writer = ClosureNames.at(c.url(), PUSH);
    assertThatThrownBy(() -> writer.set("app", path(3))).isInstanceOf(IOException.class)
        .hasMessageContaining("404 " + path(3) + " is not in this cache: push it first (nix copy --to " + c.url() + " " + path(3) + ")");
    assertThatThrownBy(() -> writer.set("-bad", path(1))).isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> writer.set("ok", "/tmp/x")).isInstanceOf(IllegalArgumentException.class);
    assertThat(writer.delete("hello")).isTrue();
    assertThat(writer.delete("hello")).isFalse();
    assertThat(reader.list()).extracting(ClosureNames.Entry::name).isEqualTo(List.of("world"));
  }
}
