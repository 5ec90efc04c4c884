package dev.procurator.pctl;

import com.fasterxml.jackson.databind.node.ArrayNode;
import dev.procurator.api.files.PrivateFiles;
import dev.procurator.api.nix.ClosureNames;
import dev.procurator.api.v1alpha1.BinaryCache;
import dev.procurator.cachesrv.CacheFiles;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.URI;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Callable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;

/**
 * The binary cache's closure names, as a registry's tags: a VM may boot {@code closureName: hello}
 * instead of a store path. Talks to the cache directly ({@link ClosureNames}), with its push token
 * for writes and its read (or push) token for reads.
 */
@Command(name = "closure", mixinStandardHelpOptions = true,
    description = "Closure names in the binary cache, as a registry's tags: list, get, name, delete.",
    subcommands = {ClosureCommand.ListNames.class, ClosureCommand.Get.class, ClosureCommand.Name.class, ClosureCommand.Delete.class})
final class ClosureCommand {
  private static final Logger log = LoggerFactory.getLogger(ClosureCommand.class);
  /** Where {@code pctl up} starts its cache unless told otherwise. */
  static final String DEFAULT_CACHE_URL = "http://127.0.0.1:7444";

  @ParentCommand Pctl global;

  /** Where the cache is and which token to send: options of every subcommand. */
  static final class CacheOptions {
    @Option(names = "--cache-url", description = "The binary cache (default: the BinaryCache '" + UpCommand.OWN_CACHE
        + "' that 'pctl up' registers, else " + DEFAULT_CACHE_URL + ").")
    String cacheUrl;

    @Option(names = "--token-file", description = "File holding the cache's push token (for writes) or read token (default: from --data-dir).")
    Path tokenFile;

    @Option(names = "--data-dir", description = "Data directory of the 'pctl up' that runs the cache, whose cache-token and"
        + " cache-read-token are used (default: the kubeconfig's folder when 'pctl up' wrote it there, else ~/.procurator/data).")
    Path dataDir;

    /**
     * The data directory the tokens are read from: as given, else the folder of the kubeconfig
     * when it is a 'pctl up' data directory (which writes its kubeconfig there, and users pass
     * {@code --kubeconfig DIR/kubeconfig}), else where 'pctl up' keeps its data by default.
     */
    Path dataDir(Pctl global) {
      if (dataDir != null) {
        return dataDir;
      }
      Path beside = KubeClients.kubeconfigOf(global).toAbsolutePath().getParent();
      if (beside != null && Files.exists(new CacheFiles(beside).pushTokenFile())) {
        return beside;
      }
      return UserDirs.procurator().resolve("data");
    }

    /** The cache's URL: as given, else as 'pctl up' registered it, else where 'pctl up' listens by default. */
    String url(Pctl global) {
      if (cacheUrl != null) {
        return cacheUrl;
      }
      return registeredUrl(global).orElse(DEFAULT_CACHE_URL);
    }

    /**
     * The token: from --token-file, else (unless the URL carries one) the push token of the data
     * directory, or for a read its read token when there is one. Null when there is none to read
     * with (the cache may serve reads without one).
     */
    String token(Pctl global, String url, boolean write) {
      if (tokenFile != null) {
        return readToken(tokenFile, "--token-file " + tokenFile);
      }
      if (URI.create(url).getRawUserInfo() != null) {
        return null; // ClosureNames takes it from the URL
      }
      CacheFiles files = new CacheFiles(dataDir(global));
      Path file = !write && Files.exists(files.readTokenFile()) ? files.readTokenFile() : files.pushTokenFile();
      if (Files.exists(file)) {
        return readToken(file, file.toString());
      }
      if (write) {
        throw new Errors.UserError("no push token for the cache at " + url + ": " + file + " does not exist; pass --token-file FILE"
            + " (the cache's cache-token) or --data-dir DIR (where 'pctl up' keeps it)");
      }
      return null;
    }

    ClosureNames client(Pctl global, boolean write) {
      String url = url(global);
      try {
        return ClosureNames.at(url, token(global, url, write));
      } catch (IllegalArgumentException e) {
        throw new Errors.UserError("--cache-url " + url + " is not a URL: " + e.getMessage());
      }
    }
  }

  private static String readToken(Path file, String what) {
    try {
      String t = Files.readString(file).strip();
      if (t.isEmpty()) {
        throw new Errors.UserError(what + " is empty");
      }
      return t;
    } catch (IOException e) {
      throw new Errors.UserError("cannot read " + what + ": " + e.getMessage());
    }
  }

  /**
   * The URL of the BinaryCache 'pctl up' registers, when an API server is configured and has it.
   * Asked once, briefly: an API server that is down (with the cache it ran) falls back at once.
   */
  static Optional<String> registeredUrl(Pctl global) {
    if (global.server == null && !Files.exists(KubeClients.kubeconfigOf(global))) {
      return Optional.empty();
    }
    try (KubernetesClient client = KubeClients.from(global, c -> {
      c.setRequestRetryBackoffLimit(0);
      c.setConnectionTimeout(3_000);
      c.setRequestTimeout(5_000);
    })) {
      BinaryCache own = client.resources(BinaryCache.class).withName(UpCommand.OWN_CACHE).get();
      if (own != null && own.getSpec() != null && own.getSpec().url() != null && !own.getSpec().url().isBlank()) {
        return Optional.of(own.getSpec().url());
      }
      log.debug("no BinaryCache {}", UpCommand.OWN_CACHE);
    } catch (RuntimeException e) {
      log.debug("no BinaryCache {}: {}", UpCommand.OWN_CACHE, e.toString());
    }
    return Optional.empty();
  }

  /** An operation on the cache that may fail on the wire. */
  private interface CacheCall<T> {
    T call() throws IOException;
  }

  /** Runs {@code c}, turning the cache's refusals into one line that says what to pass. */
  private static <T> T ask(CacheCall<T> c, String hintFor404) {
    try {
      return c.call();
    } catch (IOException e) {
      String m = e.getMessage();
      if (m.contains(" answered 401 ") || m.contains(" answered 403 ")) {
        m += "; pass --token-file FILE with the cache's push token (cache-token), or its read token to read";
      } else if (m.contains(" could not be reached")) {
        m += "; pass --cache-url URL";
      } else if (hintFor404 != null && m.contains(" answered 404 ")) {
        m += hintFor404;
      }
      throw new Errors.UserError(m);
    } catch (IllegalArgumentException e) {
      throw new Errors.UserError(e.getMessage());
    }
  }

  @Command(name = "list", mixinStandardHelpOptions = true, description = "The names the cache keeps and the store paths they stand for.")
  static final class ListNames implements Callable<Integer> {
    @ParentCommand ClosureCommand parent;
    @Mixin CacheOptions cache;

    @Option(names = {"-o", "--output"}, description = "json or yaml (default: a table).") String output;

    @Override
    public Integer call() throws IOException {
      if (output != null && !output.equals("json") && !output.equals("yaml")) {
        throw new Errors.UserError("unknown output format \"" + output + "\": use json or yaml");
      }
      ClosureNames names = cache.client(parent.global, false);
      List<ClosureNames.Entry> entries = ask(names::list, null);
      if (output != null) {
        ArrayNode list = ApiClient.JSON.createArrayNode();
        entries.forEach(e -> list.addObject().put("name", e.name()).put("storePath", e.storePath()));
        System.out.print(output.equals("json") ? ApiClient.JSON.writerWithDefaultPrettyPrinter().writeValueAsString(list) + "\n"
            : GetCommand.YAML.writeValueAsString(list));
        System.out.flush();
        return 0;
      }
      if (entries.isEmpty()) {
        System.err.println("No closures are named in the cache at " + names.base());
        return 0;
      }
      List<List<String>> rows = new ArrayList<>();
      entries.forEach(e -> rows.add(List.of(e.name(), e.storePath())));
      new TablePrinter(System.out, false, false).printCells(List.of("NAME", "STORE PATH"), rows);
      return 0;
    }
  }

  @Command(name = "get", mixinStandardHelpOptions = true, description = "Print the store path a name stands for.")
  static final class Get implements Callable<Integer> {
    @ParentCommand ClosureCommand parent;
    @Mixin CacheOptions cache;

    @Parameters(paramLabel = "NAME") String name;

    @Override
    public Integer call() {
      ClosureNames names = cache.client(parent.global, false);
      Optional<String> path = ask(() -> names.resolve(name), null);
      if (path.isEmpty()) {
        throw new Errors.UserError("no closure is named " + name);
      }
      System.out.println(path.get());
      return 0;
    }
  }

  @Command(name = "name", mixinStandardHelpOptions = true,
      description = "Name a closure the cache holds (moving the name if it stood for another); --push pushes it from this host's store first.")
  static final class Name implements Callable<Integer> {
    @ParentCommand ClosureCommand parent;
    @Mixin CacheOptions cache;

    @Parameters(index = "0", paramLabel = "NAME") String name;

    @Parameters(index = "1", paramLabel = "STORE_PATH") String storePath;

    @Option(names = "--push", description = "First push the closure from this host's nix store (nix copy, with the push token in a private netrc).")
    boolean push;

    @Override
    public Integer call() throws Exception {
      if (!ClosureNames.validName(name)) {
        throw new Errors.UserError("'" + name + "' is not a closure name: letters, digits, '_', '.' and '-', starting with a letter,"
            + " digit or '_', at most 128 characters");
      }
      String path = storePath.strip();
      if (!ClosureNames.validStorePath(path)) {
        throw new Errors.UserError("'" + path + "' is not a store path (/nix/store/HASH-NAME)");
      }
      String url = cache.url(parent.global);
      String token = cache.token(parent.global, url, true);
      if (push) {
        pushClosure(url, token, path);
      }
      ClosureNames names = ask(() -> ClosureNames.at(url, token), null);
      ask(() -> {
        names.set(name, path);
        return null;
      }, push ? null : "; or pass --push to push it from this host's store first");
      System.out.println("closure " + name + " is " + path);
      return 0;
    }
  }

  @Command(name = "delete", mixinStandardHelpOptions = true,
      description = "Remove a name (the closure stays in the cache, no longer kept by the name).")
  static final class Delete implements Callable<Integer> {
    @ParentCommand ClosureCommand parent;
    @Mixin CacheOptions cache;

    @Parameters(paramLabel = "NAME") String name;

    @Override
    public Integer call() {
      ClosureNames names = cache.client(parent.global, true);
      if (!ask(() -> names.delete(name), null)) {
        throw new Errors.UserError("no closure is named " + name);
      }
      System.out.println("closure " + name + " deleted");
      return 0;
    }
  }

  /**
   * Pushes the closure of {@code storePath} to the cache with {@code nix copy}, uncompressed (as
   * builds push). The token goes to nix only in a netrc in a private temporary NIX_CONF_DIR, whose
   * nix.conf includes the one nix would have read, and which is removed afterwards.
   */
  static void pushClosure(String url, String token, String storePath) throws IOException, InterruptedException {
    if (!Files.exists(Path.of(storePath))) {
      throw new Errors.UserError(storePath + " is not in this host's nix store: build it first (or name it without --push"
          + " once it is in the cache)");
    }
    URI u = URI.create(url);
    String password = token;
    if (password == null && u.getRawUserInfo() != null) {
      String info = u.getRawUserInfo();
      password = URLDecoder.decode(info.substring(info.indexOf(':') + 1), StandardCharsets.UTF_8);
    }
    // nix 2.8 sends credentials only from a netrc: the URL it is given carries none
    String bare = u.getScheme() + "://" + u.getHost() + (u.getPort() < 0 ? "" : ":" + u.getPort()) + (u.getRawPath() == null ? "" : u.getRawPath())
        + (u.getRawQuery() == null ? "" : "?" + u.getRawQuery());
    String to = bare.contains("compression=") ? bare : bare + (bare.contains("?") ? "&" : "?") + "compression=none";
    Path conf = Files.createTempDirectory("pctl-push-", PosixFilePermissions.asFileAttribute(PrivateFiles.OWNER_ONLY_DIRECTORY));
    Path netrc = conf.resolve("netrc");
    try {
      PrivateFiles.write(netrc, password == null ? "" : "machine " + u.getHost() + " login nix password " + password + "\n");
      String system = System.getenv("NIX_CONF_DIR");
      Path included = Path.of(system != null && !system.isBlank() ? system : "/etc/nix").resolve("nix.conf");
      Files.writeString(conf.resolve("nix.conf"), "!include " + included + "\nnetrc-file = " + netrc + "\n");
      List<String> cmd = List.of("nix", "--extra-experimental-features", "nix-command", "copy", "--to", to, storePath);
      System.err.println("pushing the closure of " + storePath + " to " + bare);
      ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
      pb.environment().put("NIX_CONF_DIR", conf.toString());
      Process p;
      try {
        p = pb.start();
      } catch (IOException e) {
        throw new Errors.UserError("cannot run nix to push " + storePath + ": " + e.getMessage());
      }
      p.getOutputStream().close();
      Deque<String> tail = new ArrayDeque<>();
      try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
        for (String line; (line = r.readLine()) != null; ) {
          System.err.println(line);
          tail.addLast(line);
          if (tail.size() > 10) {
            tail.removeFirst();
          }
        }
      }
      int code = p.waitFor();
      if (code != 0) {
        throw new Errors.UserError("pushing " + storePath + " to " + bare + " failed (nix copy exited " + code + ")"
            + (tail.isEmpty() ? "" : ": " + String.join(" | ", tail)));
      }
    } finally {
      Files.deleteIfExists(netrc);
      Files.deleteIfExists(conf.resolve("nix.conf"));
      Files.deleteIfExists(conf);
    }
  }
}
