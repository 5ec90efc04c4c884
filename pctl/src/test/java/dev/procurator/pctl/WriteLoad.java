package dev.procurator.pctl;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.Locale;

/**
 * Clients that create VMs and then update each one, recording only the writes the server
 * acknowledged (201 or 200), so a test can check none of them is lost.
 */
final class WriteLoad implements AutoCloseable {
  private static final String PADDING = "x".repeat(600);

  final Set<String> created = ConcurrentHashMap.newKeySet();
  /** name -> cpu value of the last acknowledged update. */
  final Map<String, Integer> updated = new ConcurrentHashMap<>();
  final AtomicLong failures = new AtomicLong();
  private final AtomicBoolean stop = new AtomicBoolean();
  private final List<Thread> threads = new ArrayList<>();

  WriteLoad(PctlUp up, String namespace, int clients) {
    for (int c = 0; c < clients; c++) {
      int client = c;
      threads.add(Thread.ofVirtual().start(() -> run(up, namespace, client)));
    }
  }

  private void run(PctlUp up, String ns, int client) {
    String base = "/apis/procurator.dev/v1alpha1/namespaces/" + ns + "/vms";
    for (int i = 0; !stop.get(); i++) {
      String name = "c" + client + "-" + i;
      try {
        String body = String.format(Locale.ROOT, """
            {"apiVersion":"procurator.dev/v1alpha1","kind":"VM","metadata":{"name":"%s","annotations":{"pad":"%s"}},
             "spec":{"cpu":1,"memory":"128Mi","boot":{"kernel":"k"}}}""", name, PADDING);
        if (up.request("POST", base, body).statusCode() == 201) {
          created.add(name);
          int cpu = 2 + (i % 5);
          if (patch(up, base + "/" + name, cpu)) {
            updated.put(name, cpu);
          }
        } else {
          failures.incrementAndGet();
        }
      } catch (Exception e) {
        failures.incrementAndGet();
        // the server is down: back off a little instead of spinning on refused connections
        java.util.concurrent.locks.LockSupport.parkNanos(java.time.Duration.ofMillis(20).toNanos());
      }
    }
  }

  private static boolean patch(PctlUp up, String path, int cpu) throws Exception {
    var r = up.http().send(java.net.http.HttpRequest.newBuilder(java.net.URI.create(up.url() + path))
        .timeout(java.time.Duration.ofSeconds(20))
        .header("Authorization", "Bearer " + up.token())
        .header("Content-Type", "application/merge-patch+json")
        .method("PATCH", java.net.http.HttpRequest.BodyPublishers.ofString("{\"spec\":{\"cpu\":" + cpu + "}}")).build(),
        java.net.http.HttpResponse.BodyHandlers.ofString());
    return r.statusCode() == 200;
  }

  int acknowledged() {
    return created.size() + updated.size();
  }

  @Override
  public void close() throws InterruptedException {
    stop.set(true);
    for (Thread t : threads) {
      t.join(30_000);
    }
  }
}
