package dev.procurator.nodeagent.http;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.procurator.api.v1alpha1.VM;
import dev.procurator.api.v1alpha1.VMSpec;
import dev.procurator.apiserver.testing.TestApiServer;
import dev.procurator.nodeagent.vm.ConsoleLog;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The agent's console endpoint against a real API server (which checks the reader's token): a
 * follower gets what the guest printed last even when the VM's directory is removed at once
 * after, as the agent removes it when a deleted VM's machine has exited.
 */
class AgentHttpIT {
  @TempDir Path tmp;

  @Test
  void aFollowerGetsTheLastLinesEvenWhenTheVmsDirectoryGoesAtOnce() throws Exception {
    Path dir = tmp.resolve("vms/default/web");
    Files.createDirectories(dir);
    Path serial = dir.resolve("serial.log");
    Files.writeString(serial, "booting\nPROCURATOR-READY 6.1\n");
    try (TestApiServer api = TestApiServer.embedded()) {
      VM vm = new VM();
      vm.setMetadata(new ObjectMetaBuilder().withName("web").withNamespace("default").build());
      vm.setSpec(new VMSpec(1, "128Mi", null, new VMSpec.Boot(null, "hello/vmlinux", null, null), null, null, null, null, null, null, null));
      api.client().resource(vm).create();
      AgentHttp http = new AgentHttp(new InetSocketAddress("127.0.0.1", 0), api.client(), key -> tmp.resolve("vms").resolve(key),
          d -> new ConsoleLog(d.resolve("serial.log"), d.resolve("serial.log.1")), new PrometheusMeterRegistry(PrometheusConfig.DEFAULT),
          () -> { }).start();
      try {
        HttpResponse<InputStream> r = HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create(http.url() + "/logs/default/web?follow=true"))
            .header("Authorization", "Bearer " + TestApiServer.TOKEN).build(), HttpResponse.BodyHandlers.ofInputStream());
        assertThat(r.statusCode()).isEqualTo(200);
        StringBuilder seen = new StringBuilder();
        CompletableFuture<Void> ended = CompletableFuture.runAsync(() -> {
          byte[] b = new byte[8192];
          try (InputStream in = r.body()) {
            for (int n; (n = in.read(b)) > 0; ) {
              synchronized (seen) {
                seen.append(new String(b, 0, n, StandardCharsets.UTF_8));
              }
            }
          } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
          }
        });
        await().atMost(Duration.ofSeconds(10)).until(() -> { synchronized (seen) { return seen.toString().contains("PROCURATOR-READY"); } });

        // a restart within one poll: the last line of the boot before still comes, then the new boot's console
        Files.writeString(serial, "crashed\n", StandardOpenOption.APPEND);
        Files.move(serial, dir.resolve("serial.log.1"));
        Files.writeString(serial, "booting again\n");
        await().atMost(Duration.ofSeconds(10)).until(() -> { synchronized (seen) { return seen.toString().contains("booting again"); } });

        // the guest's last words, then the machine exits and its directory goes, quicker than a follower's poll
        Files.writeString(serial, "PROCURATOR-POWEROFF\n", StandardOpenOption.APPEND);
        dev.procurator.apiserver.testing.EtcdProcess.deleteTree(tmp.resolve("vms"));

        ended.get(10, java.util.concurrent.TimeUnit.SECONDS);
        assertThat(seen.toString()).as("the stream ends with the VM, after all it printed")
            .isEqualTo("booting\nPROCURATOR-READY 6.1\ncrashed\nbooting again\nPROCURATOR-POWEROFF\n");
      } finally {
        http.close();
      }
    }
  }
}
