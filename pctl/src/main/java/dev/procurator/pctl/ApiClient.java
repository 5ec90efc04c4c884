package dev.procurator.pctl;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.fabric8.kubernetes.client.Config;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.function.Consumer;

/**
 * A small Kubernetes API client for pctl's generic verbs: kubeconfig resolution (through fabric8's
 * {@link Config}), discovery of kinds and their names, requests that fail with the server's
 * {@code Status} message, and line-by-line watch streams.
 */
final class ApiClient {
  static final ObjectMapper JSON = new ObjectMapper();
  static final String TABLE = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json";

  /** A served kind, as discovery describes it. */
  record Kind(String group, String version, String kind, String plural, String singular, List<String> shortNames, boolean namespaced) {
    String apiVersion() {
      return group.isEmpty() ? version : group + "/" + version;
    }

    String path(String namespace, String name) {
      StringBuilder sb = new StringBuilder(group.isEmpty() ? "/api/" + version : "/apis/" + group + "/" + version);
      if (namespaced && namespace != null) {
        sb.append("/namespaces/").append(namespace);
      }
      sb.append('/').append(plural);
      if (name != null) {
        sb.append('/').append(name);
      }
      return sb.toString();
    }
  }

  record Response(int code, byte[] body) {
    JsonNode json() {
      try {
        return JSON.readTree(body);
      } catch (IOException e) {
        throw new Errors.ServerError("error: the server answered with something that is not JSON");
      }
    }
  }

  private final String server;
  private final String token;
  private final String defaultNamespace;
  private final HttpClient http;
  private List<Kind> kinds;

  private ApiClient(String server, String token, String defaultNamespace, String caPem, boolean insecure) {
    this.server = server.endsWith("/") ? server.substring(0, server.length() - 1) : server;
    this.token = token;
    this.defaultNamespace = defaultNamespace == null || defaultNamespace.isEmpty() ? "default" : defaultNamespace;
    HttpClient.Builder b = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10));
    if (caPem != null || insecure) {
      b.sslContext(Tls.context(caPem, insecure));
    }
    this.http = b.build();
  }

  /** The kubeconfig pctl reads when none is named: $KUBECONFIG, else the one 'pctl up' wrote. */
  static Path defaultKubeconfig() {
    String env = System.getenv("KUBECONFIG");
    if (env != null && !env.isEmpty()) {
      return Path.of(env.split(java.io.File.pathSeparator)[0]);
    }
    return Path.of(System.getProperty("user.home"), ".procurator", "kubeconfig");
  }

  static ApiClient from(Pctl global) {
    Path kubeconfig = global.kubeconfig != null ? Path.of(global.kubeconfig) : defaultKubeconfig();
    String server = global.server;
    String token = global.token;
    String namespace = null;
    String caPem = null;
    boolean insecure = false;
    if (Files.exists(kubeconfig)) {
      try {
        Config c = Config.fromKubeconfig(null, Files.readString(kubeconfig), kubeconfig.toString());
        server = server != null ? server : c.getMasterUrl();
        token = token != null ? token : c.getAutoOAuthToken() != null ? c.getAutoOAuthToken() : c.getOauthToken();
        namespace = c.getNamespace();
        insecure = c.isTrustCerts();
        if (c.getCaCertData() != null) {
          caPem = new String(java.util.Base64.getDecoder().decode(c.getCaCertData()), StandardCharsets.UTF_8);
        } else if (c.getCaCertFile() != null) {
          caPem = Files.readString(Path.of(c.getCaCertFile()));
        }
      } catch (IOException | RuntimeException e) {
        throw new Errors.UserError("cannot read kubeconfig " + kubeconfig + ": " + e.getMessage());
      }
    } else if (global.kubeconfig != null) {
      throw new Errors.UserError("kubeconfig " + kubeconfig + " does not exist");
    }
    if (server == null) {
      throw new Errors.UserError("no API server: start one with 'pctl up', or pass --kubeconfig or --server");
    }
    return new ApiClient(server, token, namespace, caPem, insecure);
  }

  String server() {
    return server;
  }

  String defaultNamespace() {
    return defaultNamespace;
  }

  private HttpRequest.Builder request(String pathAndQuery, String accept) {
    HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(server + pathAndQuery)).header("Accept", accept);
    if (token != null && !token.isEmpty()) {
      b.header("Authorization", "Bearer " + token);
    }
    return b;
  }

  Response send(String method, String pathAndQuery, String contentType, byte[] body, String accept) {
    HttpRequest.Builder b = request(pathAndQuery, accept).timeout(Duration.ofSeconds(60));
    b.method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofByteArray(body));
    if (contentType != null) {
      b.header("Content-Type", contentType);
    }
    try {
      HttpResponse<byte[]> r = http.send(b.build(), HttpResponse.BodyHandlers.ofByteArray());
      return new Response(r.statusCode(), r.body());
    } catch (IOException e) {
      throw new Errors.UserError("cannot reach the API server at " + server + ": "
          + (e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage()));
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new Errors.UserError("interrupted");
    }
  }

  /** Sends and returns the body of a 2xx answer; anything else fails with the server's message. */
  JsonNode call(String method, String pathAndQuery, String contentType, byte[] body, String accept) {
    Response r = send(method, pathAndQuery, contentType, body, accept);
    if (r.code / 100 != 2) {
      throw serverError(r);
    }
    return r.json();
  }

  JsonNode get(String pathAndQuery) {
    return call("GET", pathAndQuery, null, null, "application/json");
  }

  static Errors.ServerError serverError(Response r) {
    try {
      JsonNode s = JSON.readTree(r.body);
      if (s != null && "Status".equals(s.path("kind").asText())) {
        return new Errors.ServerError("Error from server (" + s.path("reason").asText("Unknown") + "): " + s.path("message").asText());
      }
    } catch (IOException ignored) {
      // not a Status body; fall through to the raw answer
    }
    String text = new String(r.body, StandardCharsets.UTF_8).trim();
    return new Errors.ServerError("Error from server (" + r.code + "): " + (text.length() > 200 ? text.substring(0, 200) : text));
  }

  /** Copies a plain-text answer (a VM's console) to {@code out} as it arrives, flushing each piece. */
  void copy(String pathAndQuery, java.io.OutputStream out) {
    HttpRequest req = request(pathAndQuery, "text/plain, application/json").GET().build();
    try {
      HttpResponse<InputStream> r = http.send(req, HttpResponse.BodyHandlers.ofInputStream());
      if (r.statusCode() != 200) {
        throw serverError(new Response(r.statusCode(), r.body().readAllBytes()));
      }
      try (InputStream in = r.body()) {
        byte[] buf = new byte[16 * 1024];
        int n;
        while ((n = in.read(buf)) > 0) {
          out.write(buf, 0, n);
          out.flush();
        }
      }
    } catch (IOException e) {
      throw new Errors.UserError("the log stream broke: " + e.getMessage());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new Errors.UserError("interrupted");
    }
  }

  /** Streams a watch, one JSON event a line, until the server ends it or {@code handler} throws. */
  void stream(String pathAndQuery, String accept, Consumer<JsonNode> handler) {
    HttpRequest req = request(pathAndQuery, accept).GET().build();
    try {
      HttpResponse<InputStream> r = http.send(req, HttpResponse.BodyHandlers.ofInputStream());
      if (r.statusCode() != 200) {
        throw serverError(new Response(r.statusCode(), r.body().readAllBytes()));
      }
      try (BufferedReader in = new BufferedReader(new InputStreamReader(r.body(), StandardCharsets.UTF_8))) {
        String line;
        while ((line = in.readLine()) != null) {
          if (!line.isBlank()) {
            handler.accept(JSON.readTree(line));
          }
        }
      }
    } catch (IOException e) {
      throw new Errors.UserError("the watch stream broke: " + e.getMessage());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  // ---- discovery ----

  synchronized List<Kind> kinds() {
    if (kinds != null) {
      return kinds;
    }
    List<Kind> out = new ArrayList<>();
    JsonNode groups = get("/apis");
    for (JsonNode g : groups.path("groups")) {
      String gv = g.path("preferredVersion").path("groupVersion").asText();
      JsonNode list = get("/apis/" + gv);
      String version = g.path("preferredVersion").path("version").asText();
      for (JsonNode r : list.path("resources")) {
        String name = r.path("name").asText();
        if (name.contains("/")) {
          continue;
        }
        List<String> shortNames = new ArrayList<>();
        r.path("shortNames").forEach(s -> shortNames.add(s.asText()));
        out.add(new Kind(g.path("name").asText(), version, r.path("kind").asText(), name,
            r.path("singularName").asText(), shortNames, r.path("namespaced").asBoolean()));
      }
    }
    kinds = out;
    return out;
  }

  /** Finds a kind by plural, singular, short name or kind, optionally qualified with its group. */
  Kind resolve(String typeName) {
    String t = typeName.toLowerCase(Locale.ROOT);
    String group = null;
    int dot = t.indexOf('.');
    if (dot > 0) {
      group = t.substring(dot + 1);
      t = t.substring(0, dot);
    }
    for (Kind k : kinds()) {
      if (group != null && !k.group().equals(group)) {
        continue;
      }
      if (k.plural().equals(t) || k.singular().equals(t) || k.shortNames().contains(t) || k.kind().toLowerCase(Locale.ROOT).equals(t)) {
        return k;
      }
    }
    throw new Errors.UserError("the server doesn't have a resource type \"" + typeName + "\"");
  }

  Optional<Kind> byKind(String apiVersion, String kind) {
    return kinds().stream().filter(k -> k.apiVersion().equals(apiVersion) && k.kind().equals(kind)).findFirst();
  }

  static String query(Map<String, String> params) {
    StringBuilder sb = new StringBuilder();
    params.forEach((k, v) -> {
      if (v != null) {
        sb.append(sb.isEmpty() ? '?' : '&').append(k).append('=').append(URLEncoder.encode(v, StandardCharsets.UTF_8));
      }
    });
    return sb.toString();
  }

  static Map<String, String> params() {
    return new LinkedHashMap<>();
  }

  static ObjectNode object() {
    return JSON.createObjectNode();
  }
}
