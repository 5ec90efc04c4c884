package dev.procurator.controllers.clusters;

import static org.assertj.core.api.Assertions.assertThat;

import com.sun.net.httpserver.HttpServer;
import dev.procurator.api.nix.ClosureNames;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The table's logic around the cache: a stand-in answers {@code GET /names} as the cache does. */
class ClosureNameTableTest {
  static final String V1 = "/nix/store/0123456789abcdfghijklmnpqrsvwxyz-hello-guest-1";
  static final String V2 = "/nix/store/zyxwvsrqpnmlkjihgfdcba9876543210-hello-guest-2";

  private HttpServer server;
  private final AtomicReference<String> body = new AtomicReference<>("");
  private final AtomicInteger status = new AtomicInteger(200);

  @BeforeEach
  void serve() throws Exception {
    server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
    server.createContext("/names", exchange -> {
      byte[] b = body.get().getBytes(StandardCharsets.UTF_8);
      exchange.sendResponseHeaders(status.get(), b.length);
      exchange.getResponseBody().write(b);
      exchange.close();
    });
    server.start();
  }

  @AfterEach
  void stop() {
    server.stop(0);
  }

  @Test
  void readsTheNamesAndTellsOnlyOfChanges() {
    AtomicInteger changes = new AtomicInteger();
    ClosureNameTable table = new ClosureNameTable(ClosureNames.at("http://127.0.0.1:" + server.getAddress().getPort(), "t"),
        Duration.ofHours(1)).onChange(changes::incrementAndGet);
    assertThat(table.snapshot().names()).as("nothing read yet").isEmpty();

    body.set("hello " + V1 + "\n");
    table.poll();
    assertThat(table.snapshot().names()).hasValue(Map.of("hello", V1));
    assertThat(changes).hasValue(1);
    table.poll();
    assertThat(changes).as("the same names again: nothing to tell").hasValue(1);

    body.set("hello " + V2 + "\n");
    table.poll();
    assertThat(table.snapshot().names()).hasValue(Map.of("hello", V2));
    assertThat(changes).as("the name moved").hasValue(2);

    // a cache that cannot answer leaves the names last read standing, and says why
    status.set(503);
    table.poll();
    assertThat(table.snapshot().names()).hasValue(Map.of("hello", V2));
    assertThat(table.snapshot().problem()).contains("503");
    assertThat(changes).hasValue(2);
    status.set(200);
    table.poll();
    assertThat(table.snapshot().problem()).isNull();
    table.close();
  }
}
