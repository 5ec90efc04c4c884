package dev.procurator.cachesrv;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The real nix client (Debian's nix-bin, no daemon) pushing to and substituting from cachesrv. */
class NixClientIT {
  private static final String PUSH = "push-token-" + ThreadLocalRandom.current().nextLong(1L << 40);
  private static final String READ = "read-token-" + ThreadLocalRandom.current().nextLong(1L << 40);

  @TempDir Path tmp;
  private CacheServer cache;
  private SigningKey key;
  private Path conf;

  record Run(int code, String out, String err) {}

  @BeforeEach
  void start() throws Exception {
    key = SigningKey.generate("test-cache-1");
    // port 0: the cache binds a port the kernel picks, so none can be taken between a check and the bind
    cache = new CacheServer(new CacheServer.Config("127.0.0.1", 0, tmp.resolve("cache"), key,
        Map.of(PUSH, CacheServer.Access.WRITE, READ, CacheServer.Access.READ), false, 40, 0, store(tmp))).start();
    conf = tmp.resolve("nixconf");
    Files.createDirectories(conf);
    Files.writeString(conf.resolve("nix.conf"), """
        experimental-features = nix-command flakes
        build-users-group =
        sandbox = false
        substituters =
        narinfo-cache-negative-ttl = 0
        narinfo-cache-positive-ttl = 0
        """);
  }

  /** The store under the cache: null for the default file store. */
  protected BlobStore store(Path dir) throws Exception {
    return null;
  }

  @AfterEach
  void stop() {
    cache.close();
  }

  private Path netrc(String token) throws IOException {
    Path f = tmp.resolve("netrc-" + token.hashCode());
    Files.writeString(f, "machine 127.0.0.1 login nix password " + token + "\n");
    return f;
  }

  private Run nix(String... args) throws Exception {
    List<String> cmd = new ArrayList<>(List.of(args));
    ProcessBuilder pb = new ProcessBuilder(cmd);
    pb.environment().put("NIX_CONF_DIR", conf.toString());
    pb.environment().put("XDG_CACHE_HOME", tmp.resolve("xdg-cache").toString());
    Process p = pb.start();
    var out = p.getInputStream().readAllBytes();
    var err = p.getErrorStream().readAllBytes();
    if (!p.waitFor(180, TimeUnit.SECONDS)) {
      p.destroyForcibly();
      throw new IllegalStateException("nix hung: " + cmd);
    }
    return new Run(p.exitValue(), new String(out, StandardCharsets.UTF_8), new String(err, StandardCharsets.UTF_8));
  }

  /** Builds a two-path closure (top references dep) unique to this test run; returns [top, dep]. */
  private List<String> buildClosure() throws Exception {
    long n = ThreadLocalRandom.current().nextLong(1L << 48);
    String expr = "let dep = derivation { name = \"dep-" + n + "\"; system = \"x86_64-linux\"; builder = \"/bin/sh\";"
        + " args = [\"-c\" \"export PATH=/usr/bin:/bin; mkdir -p $out/bin; echo hello-" + n + " > $out/bin/greeting; ln -s greeting $out/bin/link\"]; };"
        + " in derivation { name = \"top-" + n + "\"; system = \"x86_64-linux\"; builder = \"/bin/sh\";"
        + " args = [\"-c\" \"echo ${dep} > $out\"]; }";
    Run r = nix("nix", "build", "--no-link", "--json", "--impure", "--expr", expr);
    assertThat(r.code()).as(r.err()).isZero();
    Matcher m = Pattern.compile("\"out\":\"([^\"]+)\"").matcher(r.out());
    assertThat(m.find()).isTrue();
    String top = m.group(1);
    String dep = Files.readString(Path.of(top)).trim();
    return List.of(top, dep);
  }

  private void deleteLocally(List<String> paths) throws Exception {
    List<String> cmd = new ArrayList<>(List.of("nix", "store", "delete"));
    cmd.addAll(paths);
    Run r = nix(cmd.toArray(String[]::new));
    assertThat(r.code()).as(r.err()).isZero();
    paths.forEach(p -> assertThat(Path.of(p)).doesNotExist());
  }

  private Run push(String token, String path) throws Exception {
    return nix("nix", "copy", "--to", cache.url(), "--option", "netrc-file", netrc(token).toString(), path);
  }

  @Test
  void pushThenCopyBackAndSubstituteWithSignaturesChecked() throws Exception {
    List<String> closure = buildClosure();
    Run pushed = push(PUSH, closure.get(0));
    assertThat(pushed.code()).as(pushed.err()).isZero();

    Run verify = nix("nix", "store", "verify", "--store", cache.url() + "?", "--option", "netrc-file", netrc(READ).toString(),
        "-r", "--trusted-public-keys", key.publicText(), closure.get(0));
    assertThat(verify.code()).as(verify.err()).isZero();
    Run untrusted = nix("nix", "store", "verify", "--store", cache.url(), "--option", "netrc-file", netrc(READ).toString(),
        "-r", "--trusted-public-keys", SigningKey.generate("other-1").publicText(), closure.get(0));
    assertThat(untrusted.code()).isNotZero();

    deleteLocally(closure);
    Run copied = nix("nix", "copy", "--from", cache.url(), "--option", "netrc-file", netrc(READ).toString(),
        "--option", "trusted-public-keys", key.publicText(), closure.get(0));
    assertThat(copied.code()).as(copied.err()).isZero();
    assertThat(Files.readString(Path.of(closure.get(1), "bin", "greeting"))).startsWith("hello-");

    deleteLocally(closure);
    Run realised = nix("nix-store", "--realise", closure.get(0), "--option", "substituters", cache.url(),
        "--option", "netrc-file", netrc(READ).toString(), "--option", "trusted-public-keys", key.publicText(),
        "--option", "require-sigs", "true");
    assertThat(realised.code()).as(realised.err()).isZero();
    assertThat(Path.of(closure.get(0))).exists();
    assertThat(Files.isSymbolicLink(Path.of(closure.get(1), "bin", "link"))).isTrue();
  }

  @Test
  void pushWithoutOrWithAReadOnlyTokenFails() throws Exception {
    List<String> closure = buildClosure();
    Run anonymous = nix("nix", "copy", "--to", cache.url(), closure.get(0));
    assertThat(anonymous.code()).isNotZero();
    Run readOnly = push(READ, closure.get(0));
    assertThat(readOnly.code()).isNotZero();
    assertThat(cache.store().list("narinfo/")).isEmpty();
  }

  @Test
  void aTamperedNarOnDiskIsCaughtByNix() throws Exception {
    List<String> closure = buildClosure();
    assertThat(push(PUSH, closure.get(0)).code()).isZero();
    String topHash = Path.of(closure.get(0)).getFileName().toString().substring(0, 32);
    NarInfo info = NarInfo.parse(new String(cache.store().read("narinfo/" + topHash + ".narinfo"), StandardCharsets.UTF_8));
    // replace the stored NAR of the top path by the dep's NAR: valid, but not what the narinfo says
    String depHash = Path.of(closure.get(1)).getFileName().toString().substring(0, 32);
    NarInfo depInfo = NarInfo.parse(new String(cache.store().read("narinfo/" + depHash + ".narinfo"), StandardCharsets.UTF_8));
    cache.store().put(info.url(), cache.store().read(depInfo.url()));

    deleteLocally(closure);
    Run copied = nix("nix", "copy", "--from", cache.url(), "--option", "netrc-file", netrc(READ).toString(),
        "--option", "trusted-public-keys", key.publicText(), closure.get(0));
    assertThat(copied.code()).isNotZero();
    assertThat(copied.err()).containsIgnoringCase("hash mismatch");
  }

  /** A path whose content differs each time it is built (a random line): the same store path, other content. */
  private String buildUnstable(long n) throws Exception {
    Run r = nix("nix", "build", "--no-link", "--json", "--impure", "--expr", "derivation { name = \"unstable-" + n
        + "\"; system = \"x86_64-linux\"; builder = \"/bin/sh\"; args = [\"-c\" \"read u < /proc/sys/kernel/random/uuid; echo $u > $out\"]; }");
    assertThat(r.code()).as(r.err()).isZero();
    Matcher m = Pattern.compile("\"out\":\"([^\"]+)\"").matcher(r.out());
    assertThat(m.find()).isTrue();
    return m.group(1);
  }

  private java.net.http.HttpResponse<String> put(String path, byte[] body) throws Exception {
    return java.net.http.HttpClient.newHttpClient().send(java.net.http.HttpRequest.newBuilder(java.net.URI.create(cache.url() + path))
        .header("Authorization", "Basic " + java.util.Base64.getEncoder().encodeToString(("nix:" + PUSH).getBytes(StandardCharsets.UTF_8)))
        .PUT(java.net.http.HttpRequest.BodyPublishers.ofByteArray(body)).build(), java.net.http.HttpResponse.BodyHandlers.ofString());
  }

  @Test
  void aStoredPathIsNeverReplacedWithOtherContentAndPushingItAgainIsFine() throws Exception {
    long n = ThreadLocalRandom.current().nextLong(1L << 48);
    String path = buildUnstable(n);
    String first = Files.readString(Path.of(path));
    Run pushed = push(PUSH, path);
    assertThat(pushed.code()).as(pushed.err()).isZero();
    String hash = Path.of(path).getFileName().toString().substring(0, 32);
    String narinfoKey = "narinfo/" + hash + ".narinfo";
    byte[] stored = cache.store().read(narinfoKey);

    // pushing it again is fine, with nix or by hand, and changes nothing
    Run again = push(PUSH, path);
    assertThat(again.code()).as(again.err()).isZero();
    var same = put("/" + hash + ".narinfo", stored);
    assertThat(same.statusCode()).as(same.body()).isEqualTo(200);
    assertThat(cache.store().read(narinfoKey)).isEqualTo(stored);

    // built again, the same store path holds other content; nix packs it as a binary cache of its own...
    deleteLocally(List.of(path));
    assertThat(buildUnstable(n)).isEqualTo(path);
    assertThat(Files.readString(Path.of(path))).isNotEqualTo(first);
    Path rogue = tmp.resolve("rogue");
    Run packed = nix("nix", "copy", "--to", "file://" + rogue, path);
    assertThat(packed.code()).as(packed.err()).isZero();
    // ...and a holder of the push token uploads it here by hand: the NAR is new, the path is not
    try (Stream<Path> nars = Files.list(rogue.resolve("nar"))) {
      for (Path nar : nars.toList()) {
        var r = put("/nar/" + nar.getFileName(), Files.readAllBytes(nar));
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
      }
    }
    byte[] other = Files.readAllBytes(rogue.resolve(hash + ".narinfo"));
    var replaced = put("/" + hash + ".narinfo", other);
    assertThat(replaced.statusCode()).as(replaced.body()).isEqualTo(409);
    assertThat(replaced.body()).contains(path + " is already in this cache with other content").contains("never replaced");
    assertThat(cache.store().read(narinfoKey)).isEqualTo(stored);
    // the store itself will not replace it either (servers sharing one store race below the HTTP layer)
    assertThat(cache.store().create(narinfoKey, other)).isFalse();
    assertThat(cache.store().read(narinfoKey)).isEqualTo(stored);

    // whoever substitutes it gets what was pushed first
    deleteLocally(List.of(path));
    Run copied = nix("nix", "copy", "--from", cache.url(), "--option", "netrc-file", netrc(READ).toString(),
        "--option", "trusted-public-keys", key.publicText(), path);
    assertThat(copied.code()).as(copied.err()).isZero();
    assertThat(Files.readString(Path.of(path))).isEqualTo(first);
  }
}
