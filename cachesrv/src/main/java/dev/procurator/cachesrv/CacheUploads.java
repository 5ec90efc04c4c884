package dev.procurator.cachesrv;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import io.micrometer.core.instrument.Counter;
import io.vertx.core.AsyncResult;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.file.OpenOptions;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServerRequest;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.function.Consumer;
import java.util.stream.IntStream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The cache's writes: NAR, narinfo and build-log uploads, pins and closure names. A NAR must hash to its file name
 * and be a NAR; a narinfo must match its NAR's hash, size and compression; a stored path is never
 * replaced (the same content again is fine, other content is 409 Conflict); bodies that must be
 * small are refused with 413 as soon as they pass their limit. Every upload is answered by
 * {@link #answer}, which never answers a PUT with a 5xx (nix retries one without its body and
 * waits forever).
 *
 * <p>Handlers run on the event loop; checking and storing run as blocking Vert.x work.
 */
final class CacheUploads {
  // under the name the cache has always logged uploads with
  private static final Logger log = LoggerFactory.getLogger(CacheServer.class);
  private static final int MAX_NARINFO = 1024 * 1024;
  /** Bodies of pins, names, nix-cache-info and unknown paths: small by nature. */
  static final int MAX_SMALL_BODY = 64 * 1024;

  private final Vertx vertx;
  private final BlobStore store;
  private final Retention retention;
  private final Consumer<String> narinfoChanged;
  private final Counter bytesReceived;
  /** What each recently uploaded NAR measured, so its narinfo need not decompress it again. */
  private final Cache<String, NarVerifier.Measured> measured = Caffeine.newBuilder().maximumSize(10_000).build();
  /** Serialises the check and the write of one store path's narinfo, per hash (striped). */
  private final Object[] narinfoLocks = IntStream.range(0, 64).mapToObj(i -> new Object()).toArray();

  /**
   * @param narinfoChanged told the hash part of each narinfo stored, so a cached answer for it is dropped
   * @param bytesReceived counts the bytes of every upload answered
   */
  CacheUploads(Vertx vertx, BlobStore store, Retention retention, Consumer<String> narinfoChanged, Counter bytesReceived) {
    this.vertx = vertx;
    this.store = store;
    this.retention = retention;
    this.narinfoChanged = narinfoChanged;
    this.bytesReceived = bytesReceived;
  }

  /** PUT pins the store path whose hash part is {@code hash} (it is never evicted); DELETE unpins it. */
  void pin(HttpServerRequest req, String hash) {
    boundedBody(req, MAX_SMALL_BODY).compose(b -> vertx.executeBlocking(() -> {
      if (req.method() == HttpMethod.PUT) {
        retention.pin(hash);
      } else {
        retention.unpin(hash);
      }
      return null;
    }, false)).onComplete(ar -> answer(req, ar, "pin " + hash));
  }

  /**
   * PUT names the store path in the body {@code name} (the cache must hold it: 404 otherwise);
   * DELETE removes the name (404 when there is none).
   */
  void name(HttpServerRequest req, Names names, String name, String cacheUrl) {
    boundedBody(req, MAX_SMALL_BODY).compose(b -> vertx.executeBlocking(() -> {
      if (req.method() == HttpMethod.PUT) {
        String path = b.toString(StandardCharsets.UTF_8).strip();
        names.set(name, path, "nix copy --to " + cacheUrl + " " + path);
        return "named " + path + " " + name;
      }
      if (!names.delete(name)) {
        throw new NotFound("no closure is named " + name);
      }
      return "removed the name " + name;
    }, false)).onComplete(ar -> answer(req, ar, "name " + name));
  }

  /** Streams the body to a temp file, with backpressure; the request is paused until the file is open. */
  private Future<Path> receive(HttpServerRequest req) {
    Path temp = store.scratch().resolve(java.util.UUID.randomUUID() + ".part");
    req.pause();
    return vertx.fileSystem().open(temp.toString(), new OpenOptions().setWrite(true).setCreateNew(true))
        .compose(file -> req.pipeTo(file))
        .map(v -> temp)
        .onFailure(e -> deleteQuietly(temp));
  }

  void putNar(HttpServerRequest req, String fileName, String hash) {
    receive(req).compose(temp -> vertx.executeBlocking(() -> {
      try (InputStream in = Files.newInputStream(temp)) {
        MessageDigest sha = MessageDigest.getInstance("SHA-256");
        byte[] buf = new byte[256 * 1024];
        for (int n; (n = in.read(buf)) > 0; ) {
          sha.update(buf, 0, n);
        }
        String actual = NixBase32.encode(sha.digest());
        if (!actual.equals(hash)) {
          deleteQuietly(temp);
          throw new IllegalArgumentException("the uploaded file hashes to " + actual + ", not to its name " + hash);
        }
      }
      // a NAR must be a NAR: decompress it as its extension says and check the archive
      NarVerifier.Measured m;
      try (InputStream in = Files.newInputStream(temp)) {
        m = NarVerifier.verify(in, compressionOf(fileName), Files.size(temp));
      } catch (IOException | RuntimeException e) {
        deleteQuietly(temp);
        throw e instanceof IllegalArgumentException ia ? ia : new IllegalArgumentException(e.getMessage(), e);
      }
      // the name is the content's hash: one stored already holds these very bytes, and stays
      if (store.size("nar/" + fileName) < 0) {
        store.put("nar/" + fileName, temp);
      } else {
        deleteQuietly(temp);
      }
      measured.put(fileName, m);
      return null;
    }, false)).onComplete(ar -> answer(req, ar, "NAR " + fileName));
  }

  void putNarInfo(HttpServerRequest req, String hash) {
    boundedBody(req, MAX_NARINFO).compose(body -> vertx.executeBlocking(() -> {
      NarInfo info = NarInfo.parse(body.toString(StandardCharsets.UTF_8));
      if (!info.hashPart().equals(hash)) {
        throw new IllegalArgumentException("StorePath " + info.storePath() + " does not belong at /" + hash + ".narinfo");
      }
      String fileName = info.url().substring("nar/".length());
      long narFileSize = store.size(info.url());
      if (narFileSize < 0) {
        throw new IllegalArgumentException("upload " + info.url() + " before its narinfo");
      }
      String expectedExt = switch (info.compression()) {
        case "xz" -> ".nar.xz";
        case "zstd" -> ".nar.zst";
        case "none" -> ".nar";
        default -> throw new IllegalArgumentException("Compression \"" + info.compression() + "\" is not supported (xz, zstd, none)");
      };
      if (!fileName.endsWith(expectedExt)) {
        throw new IllegalArgumentException("Compression " + info.compression() + " does not match URL " + info.url());
      }
      if (info.fileSize() >= 0 && info.fileSize() != narFileSize) {
        throw new IllegalArgumentException("FileSize " + info.fileSize() + " but " + info.url() + " has " + narFileSize + " bytes");
      }
      if (info.fileHash() != null) {
        String fileHash = NixBase32.encode(NarInfo.parseSha256(info.fileHash(), "FileHash"));
        if (!fileName.startsWith(fileHash)) {
          throw new IllegalArgumentException("FileHash " + info.fileHash() + " does not match " + info.url());
        }
      }
      NarVerifier.Measured m = measured.getIfPresent(fileName);
      if (m == null) {
        try (InputStream in = store.open(info.url(), 0, narFileSize)) {
          m = NarVerifier.verify(in, info.compression(), narFileSize);
        }
      }
      if (!MessageDigest.isEqual(m.narHash(), NarInfo.parseSha256(info.narHash(), "NarHash"))) {
        throw new IllegalArgumentException("NarHash " + info.narHash() + " but the NAR hashes to " + m.narHashString());
      }
      if (m.narSize() != info.narSize()) {
        throw new IllegalArgumentException("NarSize " + info.narSize() + " but the NAR has " + m.narSize() + " bytes");
      }
      if (store(info)) {
        narinfoChanged.accept(hash);
        retention.stored(info);
        return "stored";
      }
      return "already stored";
    }, false)).onComplete(ar -> answer(req, ar, "narinfo " + hash));
  }

  /** A store path the cache holds with other content: never replaced. */
  static final class Conflict extends RuntimeException {
    Conflict(String message) {
      super(message, null, false, false);
    }
  }

  /**
   * Stores {@code info} unless the cache holds its store path already, as Attic and Cachix do: a
   * stored path is never replaced. The same path with the same content (NarHash, NarSize and
   * references: what its signature covers) again is fine and changes nothing; other content is a
   * {@link Conflict}. Returns whether it was stored now.
   */
  private boolean store(NarInfo info) throws IOException {
    String key = Retention.narinfoKey(info.hashPart());
    synchronized (narinfoLocks[Math.floorMod(info.hashPart().hashCode(), narinfoLocks.length)]) {
      byte[] held = store.read(key);
      // create is atomic in the store as well, for servers sharing one: a lost race reads the winner
      if (held == null && store.create(key, info.render().getBytes(StandardCharsets.UTF_8))) {
        return true;
      }
      held = held != null ? held : store.read(key);
      NarInfo kept = NarInfo.parse(new String(held, StandardCharsets.UTF_8));
      if (!kept.fingerprint().equals(info.fingerprint())) {
        throw new Conflict(info.storePath() + " is already in this cache with other content (NarHash " + kept.narHash() + ", NarSize "
            + kept.narSize() + (kept.references().isEmpty() ? "" : ", references " + String.join(" ", kept.references()))
            + "; this upload has NarHash " + info.narHash() + ", NarSize " + info.narSize()
            + "): a stored path is never replaced");
      }
      return false;
    }
  }

  private static String compressionOf(String fileName) {
    if (fileName.endsWith(".nar.xz")) {
      return "xz";
    }
    if (fileName.endsWith(".nar.zst")) {
      return "zstd";
    }
    if (fileName.endsWith(".nar")) {
      return "none";
    }
    throw new IllegalArgumentException(fileName + ": only .nar, .nar.xz and .nar.zst are accepted");
  }

  void putLog(HttpServerRequest req, String name) {
    receive(req).compose(temp -> vertx.executeBlocking(() -> {
      store.put("log/" + name, temp);
      return null;
    }, false)).onComplete(ar -> answer(req, ar, "log " + name));
  }

  /** What a write names is not in the cache: answered 404 with the message alone. */
  static final class NotFound extends RuntimeException {
    NotFound(String message) {
      super(message, null, false, false);
    }
  }

  /** A body over its limit: answered 413 as soon as the limit is passed, and the rest is not read. */
  static final class TooLarge extends RuntimeException {
    TooLarge(long max) {
      super("the body is larger than " + max + " bytes", null, false, false);
    }
  }

  /**
   * The request's body, at most {@code max} bytes: a larger Content-Length fails at once, and a
   * chunked body fails at the chunk that passes the limit, without buffering the rest.
   */
  Future<Buffer> boundedBody(HttpServerRequest req, int max) {
    String length = req.getHeader("Content-Length");
    try {
      if (length != null && Long.parseLong(length.trim()) > max) {
        return Future.failedFuture(new TooLarge(max));
      }
    } catch (NumberFormatException e) {
      return Future.failedFuture(new IllegalArgumentException("Content-Length is not a number"));
    }
    Promise<Buffer> done = Promise.promise();
    Buffer body = Buffer.buffer();
    req.handler(chunk -> {
      if (done.future().isComplete()) {
        return;
      }
      if (body.length() + chunk.length() > max) {
        req.pause();
        done.tryFail(new TooLarge(max));
      } else {
        body.appendBuffer(chunk);
      }
    });
    req.exceptionHandler(done::tryFail);
    req.endHandler(v -> done.tryComplete(body));
    req.resume();
    return done.future();
  }

  /**
   * Answers an upload of {@code what}: 200, 404 when what it names is not there, 409 for other
   * content, 413 for a body too large, else 400 with the reason.
   */
  void answer(HttpServerRequest req, AsyncResult<?> ar, String what) {
    bytesReceived.increment(req.bytesRead());
    if (ar.succeeded()) {
      CacheServer.text(req.response(), 200, ar.result() instanceof String said ? said : "stored");
      return;
    }
    Throwable e = ar.cause();
    if (e instanceof Conflict) {
      log.info("refused {}: {}", what, e.getMessage());
      CacheServer.text(req.response(), 409, "refused " + what + ": " + e.getMessage());
      return;
    }
    if (e instanceof NotFound) {
      log.info("refused {}: {}", what, e.getMessage());
      CacheServer.text(req.response(), 404, e.getMessage());
      return;
    }
    if (e instanceof TooLarge) {
      log.info("rejected {}: {}", what, e.getMessage());
      // the unread rest of the body is not waited for: the connection closes with the answer
      if (!req.response().ended()) {
        boolean http1 = req.version() != io.vertx.core.http.HttpVersion.HTTP_2;
        req.response().setStatusCode(413).putHeader("Content-Type", "text/plain; charset=utf-8")
            .end("rejected " + what + ": " + e.getMessage() + "\n").onComplete(v -> {
              if (http1) {
                req.connection().close(); // HTTP/2 resets only the stream; HTTP/1.1 has no other way to skip the rest
              }
            });
      }
      return;
    }
    if (e instanceof IllegalArgumentException || e instanceof org.tukaani.xz.XZIOException
        || e instanceof java.io.EOFException || e instanceof com.github.luben.zstd.ZstdIOException) {
      log.info("rejected {}: {}", what, e.getMessage());
      CacheServer.text(req.response(), 400, "rejected " + what + ": " + e.getMessage());
    } else {
      // never 5xx a PUT (nix would retry without a body and hang): a failure we cannot blame on
      // the client is still answered 400, with the reason, and logged as ours
      log.error("storing {} failed", what, e);
      CacheServer.text(req.response(), 400, "could not store " + what + ": " + e);
    }
  }

  private static void deleteQuietly(Path p) {
    try {
      Files.deleteIfExists(p);
    } catch (IOException ignored) {
      // a temp file; the next start may clean it
    }
  }
}
