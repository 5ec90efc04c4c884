package dev.procurator.pctl;

import dev.procurator.cachesrv.BlobStore;
import dev.procurator.cachesrv.CacheFiles;
import dev.procurator.cachesrv.CacheServer;
import dev.procurator.cachesrv.S3Store;
import java.net.URI;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import java.util.Locale;

/** Runs the binary cache on its own, for a dedicated cache host. */
@Command(name = "cache", mixinStandardHelpOptions = true,
    description = "Run only the Nix binary cache server, in the foreground (for a cache host).")
final class CacheCommand implements Callable<Integer> {
  @Option(names = "--dir", required = true, description = "Cache directory: NARs, narinfos, key and tokens.")
  Path dir;

  @Option(names = "--listen", defaultValue = "127.0.0.1:7444", description = "host:port (default: ${DEFAULT-VALUE}).")
  String listen;

  @Option(names = "--key-name", defaultValue = "procurator-cache-1", description = "Name of a new signing key.")
  String keyName;

  @Option(names = "--anonymous-read", description = "Serve GET and HEAD without a token.")
  boolean anonymousRead;

  @Option(names = "--priority", defaultValue = "40", description = "nix-cache-info Priority (lower is tried first).")
  int priority;

  @Option(names = "--max-size", defaultValue = "0",
      description = "Size cap such as 50G or 800M; least recently used unpinned paths are evicted past it (0: no cap).")
  String maxSize;

  @Option(names = "--s3-endpoint", description = "Keep the cache in S3 at this endpoint, e.g. https://s3.eu-west-1.amazonaws.com."
      + " Credentials come from AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY.")
  URI s3Endpoint;

  @Option(names = "--s3-bucket", description = "S3 bucket (with --s3-endpoint).")
  String s3Bucket;

  @Option(names = "--s3-prefix", defaultValue = "", description = "Key prefix inside the bucket.")
  String s3Prefix;

  @Option(names = "--s3-region", defaultValue = "us-east-1", description = "S3 region (default: ${DEFAULT-VALUE}).")
  String s3Region;

  @Override
  public Integer call() throws Exception {
    BlobStore store = null;
    if (s3Endpoint != null) {
      String access = System.getenv("AWS_ACCESS_KEY_ID");
      String secret = System.getenv("AWS_SECRET_ACCESS_KEY");
      if (s3Bucket == null || access == null || secret == null) {
        throw new Errors.UserError("an S3 store needs --s3-bucket and AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY in the environment");
      }
      store = new S3Store(new S3Store.Config(s3Endpoint, s3Region, s3Bucket, s3Prefix, access, secret), dir.resolve("tmp"));
    }
    CacheServer server = start(dir, listen, keyName, anonymousRead, priority, parseSize(maxSize), store);
    CacheFiles files = new CacheFiles(dir);
    System.out.println("Procurator cache is up: " + server.url());
    System.out.println("  public key: " + files.publicKeyFile() + "   push token: " + files.pushTokenFile()
        + "   read token: " + files.readTokenFile());
    System.out.flush();
    CountDownLatch stopped = new CountDownLatch(1);
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      server.close();
      stopped.countDown();
    }, "cache-shutdown"));
    stopped.await();
    return 0;
  }

  static long parseSize(String text) {
    java.util.regex.Matcher m = java.util.regex.Pattern.compile("(\\d+)([KMGT]?)i?B?").matcher(text.trim().toUpperCase(Locale.ROOT));
    if (!m.matches()) {
      throw new Errors.UserError("a size is a number with an optional K, M, G or T suffix, not \"" + text + "\"");
    }
    int shift = switch (m.group(2)) {
      case "K" -> 10;
      case "M" -> 20;
      case "G" -> 30;
      case "T" -> 40;
      default -> 0;
    };
    return Long.parseLong(m.group(1)) << shift;
  }

  static CacheServer start(Path dir, String listen, String keyName, boolean anonymousRead, int priority, long maxBytes,
      BlobStore store) throws Exception {
    HostPort address = HostPort.parse("--listen", listen);
    CacheFiles files = new CacheFiles(dir);
    Map<String, CacheServer.Access> tokens = new LinkedHashMap<>();
    tokens.put(files.pushToken(), CacheServer.Access.WRITE);
    tokens.put(files.readToken(), CacheServer.Access.READ);
    return new CacheServer(new CacheServer.Config(address.host(), address.port(), dir.resolve("store"), files.key(keyName),
        tokens, anonymousRead, priority, maxBytes, store)).start();
  }
}
