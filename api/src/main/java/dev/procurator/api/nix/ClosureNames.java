package dev.procurator.api.nix;

import java.io.IOException;
import java.net.URI;
import java.net.URLDecoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * A client of the binary cache's closure names, which the cache keeps as a container registry
 * keeps tags: {@code GET /names} lists {@code NAME STORE_PATH} lines, {@code GET /names/NAME}
 * answers the store path (404 when no closure has that name), {@code PUT /names/NAME} with a store
 * path as the body names a closure the cache holds, {@code DELETE /names/NAME} removes the name.
 * A named closure is a retention root of the cache, as a pinned one is. Reads take the read token,
 * writes the push token, as the Basic password. Thread-safe.
 */
public final class ClosureNames {
  /** What a closure name may be: as a registry tag, letters, digits, '_', '.' and '-', starting with a letter, digit or '_', at most 128. */
  public static final String NAME_PATTERN = "^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$";
  private static final Pattern NAME = Pattern.compile(NAME_PATTERN);
  /** What a store path may be. */
  public static final String STORE_PATH_PATTERN = "^/nix/store/[0-9a-df-np-sv-z]{32}-[A-Za-z0-9+._?=-]+$";
  private static final Pattern STORE_PATH = Pattern.compile(STORE_PATH_PATTERN);

  /** One name and the closure it stands for. */
  public record Entry(String name, String storePath) {}

  private final URI base;
  private final String authorization;
  private final HttpClient http;
  private final Duration timeout;

  private ClosureNames(URI base, String authorization, Duration timeout) {
    this.base = base;
    this.authorization = authorization;
    this.timeout = timeout;
    this.http = HttpClient.newBuilder().connectTimeout(timeout).build();
  }

  /**
   * The names of the cache at {@code url}. The token is the Basic password; when it is null, the
   * one the URL carries ({@code http://nix:TOKEN@host:port}, as nix is given it) is used, and with
   * neither the requests go without credentials.
   */
  public static ClosureNames at(String url, String token) {
    return at(url, token, Duration.ofSeconds(10));
  }

  public static ClosureNames at(String url, String token, Duration timeout) {
    URI u;
    try {
      u = URI.create(url);
    } catch (IllegalArgumentException e) {
      // the URL may carry a token: never repeat it
      throw new IllegalArgumentException("the binary cache URL " + withoutCredentials(url) + " is not a valid URL");
    }
    if (u.getScheme() == null || !(u.getScheme().equals("http") || u.getScheme().equals("https")) || u.getHost() == null) {
      throw new IllegalArgumentException("closure names are asked of an http(s) binary cache, not " + withoutCredentials(url));
    }
    String password = token;
    if (password == null && u.getRawUserInfo() != null) {
      String info = u.getRawUserInfo();
      password = URLDecoder.decode(info.substring(info.indexOf(':') + 1), StandardCharsets.UTF_8);
    }
    String path = u.getRawPath() == null || u.getRawPath().isEmpty() ? "/" : u.getRawPath();
    URI base = URI.create(u.getScheme() + "://" + u.getHost() + (u.getPort() < 0 ? "" : ":" + u.getPort())
        + (path.endsWith("/") ? path : path + "/"));
    String auth = password == null ? null
        : "Basic " + Base64.getEncoder().encodeToString(("procurator:" + password).getBytes(StandardCharsets.UTF_8));
    return new ClosureNames(base, auth, timeout);
  }

  /** {@code url} without the user and token it may carry ({@code http://nix:TOKEN@host} → {@code http://host}). */
  private static String withoutCredentials(String url) {
    return url.replaceAll("//[^/@]*@", "//");
  }

  /** Whether {@code name} is a valid closure name. */
  public static boolean validName(String name) {
    return name != null && NAME.matcher(name).matches();
  }

  /** Whether {@code path} is a store path. */
  public static boolean validStorePath(String path) {
    return path != null && STORE_PATH.matcher(path).matches();
  }

  /** The store path {@code name} stands for, or empty when the cache has no such name. */
  public Optional<String> resolve(String name) throws IOException {
    requireName(name);
    HttpResponse<String> r = send("GET", "names/" + name, null);
    if (r.statusCode() == 404) {
      return Optional.empty();
    }
    check(r, "resolving closure name " + name);
    String path = r.body().strip();
    if (!validStorePath(path)) {
      throw new IOException("the cache answered closure name " + name + " with " + abbreviate(path) + ", which is not a store path");
    }
    return Optional.of(path);
  }

  /** Every name the cache keeps, sorted by name. */
  public List<Entry> list() throws IOException {
    HttpResponse<String> r = send("GET", "names", null);
    check(r, "listing closure names");
    List<Entry> out = new ArrayList<>();
    for (String line : r.body().split("\n")) {
      String[] parts = line.strip().split("\\s+");
      if (parts.length == 2 && validName(parts[0]) && validStorePath(parts[1])) {
        out.add(new Entry(parts[0], parts[1]));
      }
    }
    return out;
  }

  /** Names {@code storePath} (which the cache must hold) {@code name}, moving the name if it stood for another closure. */
  public void set(String name, String storePath) throws IOException {
    requireName(name);
    if (!validStorePath(storePath)) {
      throw new IllegalArgumentException(abbreviate(storePath) + " is not a store path (/nix/store/HASH-NAME)");
    }
    check(send("PUT", "names/" + name, storePath), "naming " + storePath + " " + name);
  }

  /** Removes {@code name}; false when there was no such name. */
  public boolean delete(String name) throws IOException {
    requireName(name);
    HttpResponse<String> r = send("DELETE", "names/" + name, null);
    if (r.statusCode() == 404) {
      return false;
    }
    check(r, "removing closure name " + name);
    return true;
  }

  /** Where the cache is, without credentials. */
  public URI base() {
    return base;
  }

  private static void requireName(String name) {
    if (!validName(name)) {
      throw new IllegalArgumentException("'" + abbreviate(name) + "' is not a closure name: letters, digits, '_', '.' and '-',"
          + " starting with a letter, digit or '_', at most 128 characters");
    }
  }

  private HttpResponse<String> send(String method, String path, String body) throws IOException {
    HttpRequest.Builder req = HttpRequest.newBuilder(base.resolve(path)).timeout(timeout)
        .method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body + "\n"));
    if (authorization != null) {
      req.header("Authorization", authorization);
    }
    if (body != null) {
      req.header("Content-Type", "text/plain; charset=utf-8");
    }
    try {
      return http.send(req.build(), HttpResponse.BodyHandlers.ofString());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IOException("interrupted while asking the cache at " + base, e);
    } catch (IOException e) {
      // a refused connection says nothing itself
      String why = e.getMessage() != null ? e.getMessage() : e instanceof java.net.ConnectException ? "connection refused" : e.toString();
      throw new IOException("the cache at " + base + " could not be reached: " + why, e);
    }
  }

  private void check(HttpResponse<String> r, String what) throws IOException {
    if (r.statusCode() / 100 != 2) {
      // the cache's refusals name the store path and the command to push it: long enough to keep whole
      String said = r.body().strip();
      throw new IOException(what + ": the cache at " + base + " answered " + r.statusCode() + " "
          + (said.length() <= 1000 ? said : said.substring(0, 1000) + "…"));
    }
  }

  private static String abbreviate(String s) {
    if (s == null) {
      return "null";
    }
    return s.length() <= 200 ? s : s.substring(0, 200) + "…";
  }
}
