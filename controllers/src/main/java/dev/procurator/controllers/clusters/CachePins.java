package dev.procurator.controllers.clusters;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Base64;

/**
 * Pins and unpins closures in the binary cache ({@code PUT} and {@code DELETE /pins/HASH} with the
 * push token as the Basic password), so that a revision a Cluster may roll back to is never
 * evicted. Idempotent both ways. Thread-safe.
 */
public final class CachePins {
  private final URI base;
  private final String authorization;
  private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

  /** A cache at {@code url} (such as http://127.0.0.1:7444) that takes {@code pushToken}. */
  public CachePins(String url, String pushToken) {
    this.base = URI.create(url.endsWith("/") ? url : url + "/");
    this.authorization = "Basic " + Base64.getEncoder().encodeToString(("procurator:" + pushToken).getBytes(StandardCharsets.UTF_8));
  }

  public void pin(String storePath) throws IOException {
    send("PUT", storePath);
  }

  public void unpin(String storePath) throws IOException {
    send("DELETE", storePath);
  }

  private void send(String method, String storePath) throws IOException {
    String hash = storePath.substring(storePath.lastIndexOf('/') + 1);
    HttpRequest req = HttpRequest.newBuilder(base.resolve("pins/" + hash)).timeout(Duration.ofSeconds(10))
        .header("Authorization", authorization).method(method, HttpRequest.BodyPublishers.noBody()).build();
    try {
      HttpResponse<String> r = http.send(req, HttpResponse.BodyHandlers.ofString());
      if (r.statusCode() / 100 != 2) {
        throw new IOException(method + " pin " + hash + ": the cache answered " + r.statusCode() + " " + r.body().strip());
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IOException("interrupted", e);
    }
  }
}
