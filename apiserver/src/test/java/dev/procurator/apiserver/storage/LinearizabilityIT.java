package dev.procurator.apiserver.storage;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.procurator.apiserver.registry.Json;
import dev.procurator.apiserver.testing.ApiServerProcess;
import dev.procurator.apiserver.testing.TestApiServer;
import dev.procurator.apiserver.testing.TestNames;
import dev.procurator.apiserver.testing.history.History;
import dev.procurator.apiserver.testing.history.LinearizabilityChecker;
import dev.procurator.apiserver.testing.history.Operation;
import dev.procurator.apiserver.testing.history.Operation.Input;
import dev.procurator.apiserver.testing.history.Operation.Output;
import java.io.IOException;
import java.net.ConnectException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpConnectTimeoutException;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;
import org.junit.jupiter.api.Test;

/**
 * Concurrent clients create, read, update (with a resourceVersion precondition) and delete a few
 * Leases on the embedded store while the API server is killed with -9 and started again on the
 * same data dir, twice: what they saw must be linearizable (requests without an answer may or may
 * not have taken effect), and no acknowledged write may be missing at the end.
 */
class LinearizabilityIT {
  private static final int CLIENTS = 5;
  private static final int KEYS = 3;
  /** Answered operations between kills. */
  private static final int PER_PHASE = 400;

  private final String namespace = TestNames.unique("linearizable");
  private final List<String> keys = new ArrayList<>();
  private final History history = new History();
  private final AtomicBoolean stop = new AtomicBoolean();
  private final AtomicInteger answered = new AtomicInteger();
  private final Map<String, AtomicInteger> outcomes = new ConcurrentHashMap<>();

  @Test
  void embeddedStoreIsLinearizableAcrossKill9OfTheApiServer() throws Exception {
    for (int i = 0; i < KEYS; i++) {
      keys.add(TestNames.unique("lease"));
    }
    try (ApiServerProcess server = ApiServerProcess.start()) {
      List<Thread> clients = new ArrayList<>();
      try {
        for (int c = 0; c < CLIENTS; c++) {
          int client = c;
          HttpClient http = server.newHttpClient();
          clients.add(Thread.ofPlatform().name("client-" + c).daemon().start(() -> runClient(client, http, server.url())));
        }
        awaitAnswered(PER_PHASE);
        for (int kill = 1; kill <= 2; kill++) {
          long pid = server.process().pid();
          server.kill9();
          server.launch();
          System.out.printf(Locale.ROOT, "killed the API server (pid %d) with -9 after %d answered operations; started again%n", pid, answered.get());
          awaitAnswered(answered.get() + PER_PHASE);
        }
      } finally {
        stop.set(true);
        for (Thread t : clients) {
          t.join(Duration.ofSeconds(30));
        }
      }
      // the last word: a read of each object after every client has stopped
      HttpClient http = server.newHttpClient();
      for (String key : keys) {
        History.Pending p = history.begin(CLIENTS, key, new Input.Get());
        p.end(execute(http, server.url(), key, new Input.Get()));
      }
    }

    List<Operation> ops = history.operations();
    long start = System.nanoTime();
    LinearizabilityChecker.Result result = LinearizabilityChecker.check(ops, Duration.ofSeconds(20));
    System.out.printf(Locale.ROOT, "%d operations on %d objects (%s): %s, checked in %d ms%n", ops.size(), KEYS, outcomes,
        result.linearizable() ? "linearizable" : result.verdict(), Duration.ofNanos(System.nanoTime() - start).toMillis());
    assertThat(result.verdict()).as(result.describe(history.origin())).isEqualTo(LinearizabilityChecker.Verdict.LINEARIZABLE);
    assertNoAcknowledgedWriteLost(ops);
  }

  private void awaitAnswered(int n) {
    await().atMost(Duration.ofSeconds(40)).until(() -> answered.get() >= n);
  }

  private void runClient(int client, HttpClient http, String url) {
    Random rnd = new Random(client);
    Map<String, String> lastRv = new HashMap<>();
    int n = 0;
    String reread = null; // an object whose state this client just learned it does not know
    while (!stop.get()) {
      String key = reread != null ? reread : keys.get(rnd.nextInt(keys.size()));
      String value = "c" + client + "-" + n++;
      // mostly what can succeed given what this client last saw, sometimes what cannot
      int pick = rnd.nextInt(100);
      boolean absent = !lastRv.containsKey(key);
      Input input = reread != null ? new Input.Get()
          : absent && pick < 60 ? new Input.Create(value)
          : pick < 25 ? new Input.Get()
          : pick < 40 ? new Input.Create(value)
          : pick < 85 ? new Input.Update(value, lastRv.getOrDefault(key, "1"))
          : new Input.Delete();
      History.Pending p = history.begin(client, key, input);
      Output out;
      try {
        out = execute(http, url, key, input);
      } catch (ConnectException | HttpConnectTimeoutException refused) {
        // the request never reached a server: it cannot have taken effect; wait for the restart
        p.notSent();
        count("not sent");
        LockSupport.parkNanos(Duration.ofMillis(50).toNanos());
        continue;
      } catch (IOException | RuntimeException e) {
        out = new Output.Unknown();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return;
      }
      p.end(out);
      count(out.getClass().getSimpleName());
      if (!(out instanceof Output.Unknown)) {
        answered.incrementAndGet();
      }
      switch (out) {
        case Output.Written w -> lastRv.put(key, w.rv());
        case Output.Read r -> lastRv.put(key, r.rv());
        case Output.NotFound x -> lastRv.remove(key);
        case Output.Deleted x -> lastRv.remove(key);
        default -> { }
      }
      reread = out instanceof Output.AlreadyExists || out instanceof Output.Conflict ? key : null;
    }
  }

  private void count(String outcome) {
    outcomes.computeIfAbsent(outcome, o -> new AtomicInteger()).incrementAndGet();
  }

  /** One request; an answer the register does not know (a 5xx, a 429) counts as no answer. */
  private Output execute(HttpClient http, String url, String key, Input input) throws IOException, InterruptedException {
    String collection = url + "/apis/coordination.k8s.io/v1/namespaces/" + namespace + "/leases";
    HttpRequest.Builder b = HttpRequest.newBuilder().timeout(Duration.ofSeconds(3)).header("Authorization", "Bearer " + TestApiServer.TOKEN);
    switch (input) {
      case Input.Create c -> b.uri(URI.create(collection)).header("Content-Type", "application/json")
          .POST(HttpRequest.BodyPublishers.ofString(lease(key, c.value(), null)));
      case Input.Get g -> b.uri(URI.create(collection + "/" + key)).GET();
      case Input.Update u -> b.uri(URI.create(collection + "/" + key)).header("Content-Type", "application/json")
          .PUT(HttpRequest.BodyPublishers.ofString(lease(key, u.value(), u.expectedRv())));
      case Input.Delete d -> b.uri(URI.create(collection + "/" + key)).DELETE();
    }
    HttpResponse<String> r = http.send(b.build(), HttpResponse.BodyHandlers.ofString());
    int status = r.statusCode();
    if (status == 404) {
      return new Output.NotFound();
    }
    if (status == 409) {
      return input instanceof Input.Create ? new Output.AlreadyExists() : new Output.Conflict();
    }
    if (status / 100 != 2) {
      count("HTTP " + status);
      return new Output.Unknown();
    }
    JsonNode o = Json.MAPPER.readTree(r.body());
    String rv = o.at("/metadata/resourceVersion").asText();
    return switch (input) {
      case Input.Get g -> new Output.Read(o.at("/spec/holderIdentity").asText(), rv);
      case Input.Delete d -> new Output.Deleted();
      default -> new Output.Written(rv);
    };
  }

  private String lease(String name, String holder, String resourceVersion) {
    ObjectNode o = Json.object();
    o.put("apiVersion", "coordination.k8s.io/v1").put("kind", "Lease");
    ObjectNode metadata = o.putObject("metadata").put("name", name).put("namespace", namespace);
    if (resourceVersion != null) {
      metadata.put("resourceVersion", resourceVersion);
    }
    o.putObject("spec").put("holderIdentity", holder);
    return o.toString();
  }

  /**
   * A check of durability on its own, apart from the checker: the final state of each object must
   * be what the last acknowledged write left, or what a write that may have taken effect after it
   * (one that had not returned when it was called) left.
   */
  private void assertNoAcknowledgedWriteLost(List<Operation> ops) {
    for (String key : keys) {
      List<Operation> mine = ops.stream().filter(o -> o.key().equals(key)).toList();
      Operation last = mine.getLast();
      Operation lastAcknowledged = null;
      for (Operation o : mine) {
        boolean acknowledgedWrite = o.output() instanceof Output.Written || o.output() instanceof Output.Deleted;
        if (acknowledgedWrite && (lastAcknowledged == null || o.ret() > lastAcknowledged.ret())) {
          lastAcknowledged = o;
        }
      }
      if (lastAcknowledged == null) {
        continue;
      }
      List<Operation> mayBeLast = new ArrayList<>();
      for (Operation o : mine) {
        boolean write = !(o.input() instanceof Input.Get);
        boolean mayHaveWritten = o.output() instanceof Output.Written || o.output() instanceof Output.Deleted || o.unknown();
        if (write && mayHaveWritten && (o == lastAcknowledged || o.ret() > lastAcknowledged.call())) {
          mayBeLast.add(o);
        }
      }
      Output finalState = last.output();
      boolean explained = mayBeLast.stream().anyMatch(w -> switch (finalState) {
        case Output.NotFound n -> w.input() instanceof Input.Delete;
        case Output.Read r -> switch (w.input()) {
          case Input.Create c -> c.value().equals(r.value());
          case Input.Update u -> u.value().equals(r.value());
          default -> false;
        };
        default -> false;
      });
      assertThat(explained).as("object %s ends as %s, which neither the last acknowledged write %s nor any write after it left",
          key, last.describe(history.origin()), lastAcknowledged.describe(history.origin())).isTrue();
    }
  }
}
