package dev.procurator.pctl;

import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;

/**
 * Serves a registry at {@code GET /metrics} in Prometheus' text format (and {@code /healthz}), over
 * plain HTTP on the address it is given, as the node agent serves its own: what {@code pctl
 * controllers --metrics-listen} starts. Open to anyone who reaches the address, so it listens on
 * loopback unless told otherwise.
 */
final class MetricsListener implements AutoCloseable {
  private final Vertx vertx;
  private final HttpServer server;
  private final String host;

  private MetricsListener(Vertx vertx, HttpServer server, String host) {
    this.vertx = vertx;
    this.server = server;
    this.host = host;
  }

  static MetricsListener start(HostPort address, PrometheusMeterRegistry registry) {
    Vertx vertx = Vertx.vertx();
    try {
      HttpServer server = vertx.createHttpServer(new HttpServerOptions().setHost(address.host()).setPort(address.port()))
          .requestHandler(req -> {
            switch (req.path()) {
              case "/metrics" -> vertx.<String>executeBlocking(registry::scrape, false)
                  .onSuccess(body -> req.response().putHeader("Content-Type", "text/plain; version=0.0.4; charset=utf-8").end(body))
                  .onFailure(e -> req.response().setStatusCode(500).end("scrape failed\n"));
              case "/healthz" -> req.response().putHeader("Content-Type", "text/plain").end("ok\n");
              default -> req.response().setStatusCode(404).putHeader("Content-Type", "text/plain").end("not found: " + req.path() + "\n");
            }
          }).listen().await();
      return new MetricsListener(vertx, server, address.host());
    } catch (RuntimeException e) {
      vertx.close();
      throw new Errors.UserError("--metrics-listen " + address.host() + ":" + address.port() + " cannot be served: " + e.getMessage());
    }
  }

  String url() {
    return "http://" + (host.contains(":") ? "[" + host + "]" : host) + ":" + server.actualPort();
  }

  @Override
  public void close() {
    server.close().await();
    vertx.close().await();
  }
}
