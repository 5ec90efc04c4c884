package dev.procurator.apiserver.rest;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.procurator.apiserver.ApiServerConfig;
import dev.procurator.apiserver.testing.TestApiServer;
import java.io.BufferedReader;
import java.io.IOException;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code --audit-when-full} against a real server whose audit log cannot keep up: the log is a
 * named pipe the test reads only when it chooses, so once the pipe's own buffer is full the
 * writer is stuck, as on a disk that stopped answering, and the server's small buffer fills.
 */
class AuditWhenFullIT {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final int REQUESTS = 400;
  private static final String LIST = "/apis/procurator.dev/v1alpha1/namespaces/default/vms";
  private static final String MARKER = LIST + "/audit-marker";

  @TempDir Path tmp;

  @Test
  void dropAnswersEveryRequestWhileTheLogIsStuckAndCountsWhatItDropped() throws Exception {
    try (Stuck log = Stuck.pipe(tmp.resolve("audit.log"));
        TestApiServer api = start(log, true);
        AutoCloseable unstick = log::startReading) {
      Sender sent = Sender.start(api);
      // nobody reads the log, yet every request is answered
      await().atMost(Duration.ofSeconds(60)).until(() -> sent.answered() == REQUESTS);
      assertThat(sent.failures()).isEmpty();

      log.startReading();
      assertThat(api.request("GET", MARKER, null, null).statusCode()).isEqualTo(404);
      JsonNode marker = log.awaitLine(MARKER);
      long written = log.lines().stream().filter(AuditWhenFullIT::isTheList).count();
      long dropped = Long.parseLong(marker.path("annotations").path("audit.procurator.dev/dropped-before").asText("0"));
      assertThat(dropped).as("lines dropped, as the next line says").isPositive();
      assertThat(written + dropped).as("each request either written or counted").isEqualTo(REQUESTS);
      // and counted where Prometheus reads it, under kube-apiserver's name for a buffered backend's lost events
      HttpResponse<String> metrics = api.request("GET", "/metrics", null, null);
      assertThat(MetricsIT.Metrics.parse(metrics.body()).sum("apiserver_audit_error_total", java.util.Map.of("plugin", "buffered")))
          .isEqualTo(dropped);
    }
  }

  @Test
  void blockHoldsRequestsWhileTheLogIsStuckAndLosesNoLine() throws Exception {
    try (Stuck log = Stuck.pipe(tmp.resolve("audit.log"));
        TestApiServer api = start(log, false);
        AutoCloseable unstick = log::startReading) {
      Sender sent = Sender.start(api);
      // the log is stuck: requests wait for it rather than lose their lines
      await().during(Duration.ofSeconds(3)).atMost(Duration.ofSeconds(30)).until(() -> sent.answered() < REQUESTS);

      log.startReading();
      await().atMost(Duration.ofSeconds(60)).until(() -> sent.answered() == REQUESTS);
      assertThat(sent.failures()).isEmpty();
      assertThat(api.request("GET", MARKER, null, null).statusCode()).isEqualTo(404);
      JsonNode marker = log.awaitLine(MARKER);
      assertThat(marker.has("annotations")).as("nothing dropped").isFalse();
      assertThat(log.lines().stream().filter(AuditWhenFullIT::isTheList).count()).isEqualTo(REQUESTS);
    }
  }

  private static boolean isTheList(JsonNode line) {
    return line.path("requestURI").asText().equals(LIST) && line.path("verb").asText().equals("list");
  }

  private static TestApiServer start(Stuck log, boolean drop) throws Exception {
    return TestApiServer.start(List.of(), c -> c.withAuditLog(log.path)
        .withAccess(c.access().withAudit(new ApiServerConfig.AuditPolicy(true, 1L << 30, 1, 4, drop))));
  }

  /** Lists VMs {@link #REQUESTS} times, one request after the other, as a client would. */
  record Sender(TestApiServer api, AtomicInteger done, List<String> failures) {
    static Sender start(TestApiServer api) {
      Sender s = new Sender(api, new AtomicInteger(), new CopyOnWriteArrayList<>());
      Thread.ofPlatform().daemon().name("audit-sender").start(() -> {
        for (int i = 0; i < REQUESTS; i++) {
          try {
            HttpResponse<String> r = api.request("GET", LIST, null, null);
            if (r.statusCode() != 200) {
              s.failures.add(r.statusCode() + " " + r.body());
            }
          } catch (Exception e) {
            s.failures.add(e.toString());
          }
          s.done.incrementAndGet();
        }
      });
      return s;
    }

    int answered() {
      return done.get();
    }
  }

  /** A named pipe as the audit log: the server's writes stall once its buffer is full, until the test reads. */
  static final class Stuck implements AutoCloseable {
    final Path path;
    private final CompletableFuture<BufferedReader> opened = new CompletableFuture<>();
    private final List<JsonNode> lines = new CopyOnWriteArrayList<>();
    private Thread reader;
    private Thread opener;

    private Stuck(Path path) {
      this.path = path;
    }

    static Stuck pipe(Path path) throws Exception {
      Process mkfifo = new ProcessBuilder("mkfifo", "-m", "600", path.toString()).redirectErrorStream(true).start();
      assertThat(mkfifo.waitFor(10, TimeUnit.SECONDS) && mkfifo.exitValue() == 0)
          .as("mkfifo: " + new String(mkfifo.getInputStream().readAllBytes(), StandardCharsets.UTF_8)).isTrue();
      Stuck s = new Stuck(path);
      // opening a pipe for reading waits for its writer, the server, which opens it as it starts
      s.opener = Thread.ofPlatform().daemon().name("audit-pipe-open").start(() -> {
        try {
          s.opened.complete(Files.newBufferedReader(path, StandardCharsets.UTF_8));
        } catch (IOException e) {
          s.opened.completeExceptionally(e);
        }
      });
      return s;
    }

    /** Reads the log from now on (again: nothing). */
    synchronized void startReading() {
      if (reader != null) {
        return;
      }
      reader = Thread.ofPlatform().daemon().name("audit-pipe-read").start(() -> {
        try {
          BufferedReader in = opened.get(30, TimeUnit.SECONDS);
          for (String line; (line = in.readLine()) != null; ) {
            lines.add(JSON.readTree(line));
          }
        } catch (Exception stopped) {
          // the server closed the log, or the test ended
        }
      });
    }

    JsonNode awaitLine(String uri) {
      return await().atMost(Duration.ofSeconds(60)).until(
          () -> lines.stream().filter(l -> l.path("requestURI").asText().equals(uri)).findFirst().orElse(null), l -> l != null);
    }

    List<JsonNode> lines() {
      return lines;
    }

    @Override
    public void close() throws Exception {
      startReading(); // a stuck server writes its last lines and stops
      reader.join(TimeUnit.SECONDS.toMillis(30));
      opener.join(TimeUnit.SECONDS.toMillis(5));
    }
  }
}
