package dev.procurator.pctl;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.function.Consumer;

/**
 * pctl's generic verbs over fabric8's client (the same one the agent and controllers use, with
 * the kubeconfig's server, CA and credentials): discovery of kinds and their names, requests that
 * fail with the server's {@code Status} message, tables, and line-by-line watch streams.
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
  private final String defaultNamespace;
  private final io.fabric8.kubernetes.client.http.HttpClient http;
  private List<Kind> kinds;

  private ApiClient(KubernetesClient client) {
    String url = client.getMasterUrl().toString();
    this.server = url.endsWith("/") ? url.substring(0, url.length() - 1) : url;
    this.defaultNamespace = client.getNamespace() == null || client.getNamespace().isEmpty() ? "default" : client.getNamespace();
    // fabric8's HTTP client, with the kubeconfig's server, CA and credentials: pctl's one client
    this.http = client.getHttpClient();
  }

  /** The kubeconfig pctl reads when none is named: $KUBECONFIG, else the one 'pctl up' wrote. */
  static Path defaultKubeconfig() {
    String env = System.getenv("KUBECONFIG");
    if (env != null && !env.isEmpty()) {
      return Path.of(env.split(java.io.File.pathSeparator)[0]);
    }
    return UserDirs.procurator().resolve("kubeconfig");
  }

  /** One fabric8 client per kubeconfig, server and token, kept for the process (pctl's tests run many commands in one). */
  private static final Map<String, KubernetesClient> CLIENTS = new java.util.concurrent.ConcurrentHashMap<>();

  static ApiClient from(Pctl global) {
    String key = global.kubeconfig + "\u0000" + global.server + "\u0000" + global.token + "\u0000" + System.getenv("KUBECONFIG");
    KubernetesClient client = CLIENTS.get(key);
    if (client == null) {
      client = KubeClients.from(global);
      KubernetesClient raced = CLIENTS.putIfAbsent(key, client);
      if (raced != null) {
        client.close();
        client = raced;
      }
    }
    return new ApiClient(client);
  }

  String server() {
    return server;
  }

  String defaultNamespace() {
    return defaultNamespace;
  }

  private io.fabric8.kubernetes.client.http.HttpRequest.Builder request(String pathAndQuery, String accept) {
    return http.newHttpRequestBuilder().uri(server + pathAndQuery).header("Accept", accept);
  }

  private <T> io.fabric8.kubernetes.client.http.HttpResponse<T> await(io.fabric8.kubernetes.client.http.HttpRequest req, Class<T> type) {
    try {
      return http.sendAsync(req, type).get();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new Errors.UserError("interrupted");
    } catch (java.util.concurrent.ExecutionException e) {
      Throwable c = e.getCause();
      throw new Errors.UserError("cannot reach the API server at " + server + ": "
          + (c == null || c.getMessage() == null ? String.valueOf(c) : c.getMessage()));
    }
  }

  Response send(String method, String pathAndQuery, String contentType, byte[] body, String accept) {
    var b = request(pathAndQuery, accept).timeout(60, java.util.concurrent.TimeUnit.SECONDS);
    if (body != null || !method.equals("GET")) {
      b.method(method, contentType == null ? "application/json" : contentType, body == null ? "" : new String(body, StandardCharsets.UTF_8));
    }
    var r = await(b.build(), byte[].class);
    return new Response(r.code(), r.body() == null ? new byte[0] : r.body());
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

  /** A long-lived answer (a console, a watch) as a stream; a non-200 answer fails with the server's message. */
  private InputStream open(String pathAndQuery, String accept) throws IOException {
    var req = request(pathAndQuery, accept).forStreaming().timeout(365, java.util.concurrent.TimeUnit.DAYS).build();
    var r = await(req, InputStream.class);
    if (r.code() != 200) {
      try (InputStream in = r.body()) {
        throw serverError(new Response(r.code(), in == null ? new byte[0] : in.readAllBytes()));
      }
    }
    return r.body();
  }

  /** Copies a plain-text answer (a VM's console) to {@code out} as it arrives, flushing each piece. */
  void copy(String pathAndQuery, java.io.OutputStream out) {
    try (InputStream in = open(pathAndQuery, "text/plain, application/json")) {
      byte[] buf = new byte[16 * 1024];
      int n;
      while ((n = in.read(buf)) > 0) {
        out.write(buf, 0, n);
        out.flush();
      }
    } catch (IOException e) {
      throw new Errors.UserError("the log stream broke: " + e.getMessage());
    }
  }

  /** Streams a watch, one JSON event a line, until the server ends it or {@code handler} throws. */
  void stream(String pathAndQuery, String accept, Consumer<JsonNode> handler) {
    try (BufferedReader in = new BufferedReader(new InputStreamReader(open(pathAndQuery, accept), StandardCharsets.UTF_8))) {
      String line;
      while ((line = in.readLine()) != null) {
        if (!line.isBlank()) {
          handler.accept(JSON.readTree(line));
        }
      }
    } catch (IOException e) {
      throw new Errors.UserError("the watch stream broke: " + e.getMessage());
    }
  }

  // ---- discovery ----

  synchronized List<Kind> kinds() {
    if (kinds != null) {
      return kinds;
    }
    List<Kind> out = new ArrayList<>();
    for (JsonNode r : get("/api/v1").path("resources")) {
      String name = r.path("name").asText();
      if (!name.contains("/")) {
        List<String> shortNames = new ArrayList<>();
        r.path("shortNames").forEach(sn -> shortNames.add(sn.asText()));
        out.add(new Kind("", "v1", r.path("kind").asText(), name, r.path("singularName").asText(), shortNames, r.path("namespaced").asBoolean()));
      }
    }
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
