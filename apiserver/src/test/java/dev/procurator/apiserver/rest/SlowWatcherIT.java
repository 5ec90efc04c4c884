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

/** A watcher that stops reading is cut off with 410; the others keep getting every event. */
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

      // a fast client that reads everything
      AtomicInteger fastEvents = new AtomicInteger();
      // when each create was acknowledged, and when the fast watcher read its event
      java.util.Map<String, Long> acked = new java.util.concurrent.ConcurrentHashMap<>();
      java.util.Map<String, Long> read = new java.util.concurrent.ConcurrentHashMap<>();
      java.util.regex.Pattern name = java.util.regex.Pattern.compile("\"name\":\"(vm-\\d+)\"");
      HttpRequest req = HttpRequest.newBuilder(URI.create(api.url() + path + "&timeoutSeconds=120"))
          .header("Authorization", "Bearer " + TestApiServer.TOKEN).build();
      var fast = api.http().sendAsync(req, HttpResponse.BodyHandlers.ofLines())
          .thenAccept(r -> r.body().forEach(line -> {
            java.util.regex.Matcher m = name.matcher(line);
            if (m.find()) {
              read.putIfAbsent(m.group(1), System.nanoTime());
            }
            fastEvents.incrementAndGet();
          }));

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
      await().atMost(Duration.ofSeconds(60)).untilAsserted(() -> assertThat(fastEvents.get()).isEqualTo(objects));
      // not slowed: each event reached the fast watcher about when its create was acknowledged, not held
      // back behind the client that reads nothing (whose queue fills after 64 events)
      long[] lagsMs = acked.entrySet().stream().mapToLong(e -> Math.max(0, read.get(e.getKey()) - e.getValue()) / 1_000_000).sorted().toArray();
      long p99 = lagsMs[(int) Math.ceil(lagsMs.length * 0.99) - 1];
      System.out.printf(Locale.ROOT, "fast watcher's lag behind the acknowledgements: p50 %d ms, p99 %d ms, max %d ms%n",
          lagsMs[lagsMs.length / 2], p99, lagsMs[lagsMs.length - 1]);
      assertThat(p99).as("p99 lag of the fast watcher, ms (5 ms here with the slow client connected)").isLessThan(2_000);
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
      fast.cancel(true);
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
