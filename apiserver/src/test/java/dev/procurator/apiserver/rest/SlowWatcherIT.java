package dev.procurator.apiserver.rest;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.procurator.apiserver.testing.TestApiServer;
import dev.procurator.apiserver.testing.TestTls;
import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocket;
import org.junit.jupiter.api.Test;
import java.util.Locale;

/**
 * A watcher that stops reading is cut off with 410; the others keep getting every event as it
 * happens. The events fan out to every watcher from one thread, so a fan-out that waited for the
 * slowest watcher would hold the fast ones back for as long as the slow one does not read: here,
 * for good.
 */
class SlowWatcherIT {
  @Test
  void aClientThatStopsReadingIsEndedWithGoneAndOthersAreNotSlowed() throws Exception {
    try (TestApiServer api = TestApiServer.start(List.of(), c -> c.withWatchQueueLimit(64))) {
      String path = "/apis/procurator.dev/v1alpha1/namespaces/flood/vms?watch=1&resourceVersion="
          + api.server().storage().currentRevision();

      // the slow client: sends its request, then never reads
      SSLSocket slow = (SSLSocket) sslContext(api).getSocketFactory().createSocket("127.0.0.1", api.server().port());
      OutputStream out = slow.getOutputStream();
      out.write(("GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer " + TestApiServer.TOKEN
          + "\r\nAccept: application/json\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
      out.flush();

      // fast clients that read everything
      int fastClients = 3;
      List<AtomicInteger> fastEvents = new java.util.ArrayList<>();
      // when each create was acknowledged, and when each fast watcher read its event
      java.util.Map<String, Long> acked = new java.util.concurrent.ConcurrentHashMap<>();
      List<java.util.Map<String, Long>> read = new java.util.ArrayList<>();
      List<java.util.concurrent.CompletableFuture<Void>> fast = new java.util.ArrayList<>();
      java.util.regex.Pattern name = java.util.regex.Pattern.compile("\"name\":\"(vm-\\d+)\"");
      for (int f = 0; f < fastClients; f++) {
        AtomicInteger count = new AtomicInteger();
        java.util.Map<String, Long> when = new java.util.concurrent.ConcurrentHashMap<>();
        fastEvents.add(count);
        read.add(when);
        HttpRequest req = HttpRequest.newBuilder(URI.create(api.url() + path + "&timeoutSeconds=120"))
            .header("Authorization", "Bearer " + TestApiServer.TOKEN).build();
        fast.add(api.http().sendAsync(req, HttpResponse.BodyHandlers.ofLines())
            .thenAccept(r -> r.body().forEach(line -> {
              java.util.regex.Matcher m = name.matcher(line);
              if (m.find()) {
                when.putIfAbsent(m.group(1), System.nanoTime());
              }
              count.incrementAndGet();
            })));
      }

      long t0 = System.nanoTime();
      int objects = 600;
      String pad = "y".repeat(48 * 1024);
      for (int i = 0; i < objects; i++) {
        HttpResponse<String> r = api.request("POST", "/apis/procurator.dev/v1alpha1/namespaces/flood/vms", "application/json",
            "{\"apiVersion\":\"procurator.dev/v1alpha1\",\"kind\":\"VM\",\"metadata\":{\"name\":\"vm-" + i
                + "\",\"annotations\":{\"pad\":\"" + pad + "\"}},\"spec\":{\"cpu\":1,\"memory\":\"1Gi\",\"boot\":{\"kernel\":\"k\"}}}");
        assertThat(r.statusCode()).isEqualTo(201);
        acked.put("vm-" + i, System.nanoTime());
      }
      long t1 = System.nanoTime();
      // Every fast watcher has every event while the slow client has still read nothing (it never reads before
      // the drain below). A fan-out that waited for the slow client would stall at about its queue's 64 events
      // plus what the sockets buffer, and never get further: the bound only has to cover a busy host
      await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> assertThat(fastEvents).as("events each fast watcher read")
          .allSatisfy(n -> assertThat(n.get()).isEqualTo(objects)));
      // not slowed: each event reached each fast watcher about when its create was acknowledged, not held
      // back behind the client that reads nothing (whose queue fills after 64 events)
      for (int f = 0; f < fastClients; f++) {
        java.util.Map<String, Long> when = read.get(f);
        long[] lagsMs = acked.entrySet().stream().mapToLong(e -> Math.max(0, when.get(e.getKey()) - e.getValue()) / 1_000_000).sorted().toArray();
        long p99 = lagsMs[(int) Math.ceil(lagsMs.length * 0.99) - 1];
        System.out.printf(Locale.ROOT, "fast watcher %d's lag behind the acknowledgements: p50 %d ms, p99 %d ms, max %d ms%n",
            f, lagsMs[lagsMs.length / 2], p99, lagsMs[lagsMs.length - 1]);
        assertThat(p99).as("p99 lag of fast watcher %d, ms (5 ms here with the slow client connected)", f).isLessThan(2_000);
      }
      System.out.printf(Locale.ROOT, "created %d objects in %d ms; the fast watcher had them all %d ms later%n", objects,
          (t1 - t0) / 1_000_000, (System.nanoTime() - t1) / 1_000_000);

      // now drain the slow client: its stream must end with an ERROR frame carrying 410
      slow.setSoTimeout(30_000);
      InputStream in = slow.getInputStream();
      ByteArrayOutputStream all = new ByteArrayOutputStream();
      byte[] buf = new byte[64 * 1024];
      // the connection stays open (keep-alive): read until the chunked stream's last chunk
      byte[] last = "\r\n0\r\n\r\n".getBytes(StandardCharsets.US_ASCII);
      while (!endsWith(all, last)) {
        int n = in.read(buf);
        if (n < 0) {
          break;
        }
        all.write(buf, 0, n);
      }
      String text = all.toString(StandardCharsets.UTF_8);
      assertThat(text).contains("\"type\":\"ERROR\"").contains("\"code\":410");
      assertThat(text.split("\"type\":\"ADDED\"").length - 1).isLessThan(objects);
      System.out.printf(Locale.ROOT, "slow client drained %d ms after the flood%n", (System.nanoTime() - t1) / 1_000_000);
      slow.close();
      fast.forEach(x -> x.cancel(true));
    }
  }

  private static boolean endsWith(ByteArrayOutputStream out, byte[] suffix) {
    if (out.size() < suffix.length) {
      return false;
    }
    byte[] b = out.toByteArray();
    return java.util.Arrays.equals(b, b.length - suffix.length, b.length, suffix, 0, suffix.length);
  }

  private static SSLContext sslContext(TestApiServer api) throws Exception {
    return TestTls.trusting(new String(java.util.Base64.getDecoder().decode(api.config().getCaCertData()), StandardCharsets.UTF_8));
  }

}
