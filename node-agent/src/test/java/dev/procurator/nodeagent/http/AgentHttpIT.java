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

  /**
   * A log is read with a token that may read the log ({@code vms/log}, {@code builds/log}): one
   * that may only get the VM or Build is refused, one that may read only the log is let through.
   */
  @Test
  void aLogReaderNeedsTheLogSubresourceNotTheObject() throws Exception {
    Path vmDir = tmp.resolve("vms/default/web");
    Files.createDirectories(vmDir);
    Files.writeString(vmDir.resolve("serial.log"), "PROCURATOR-READY 6.1\n");
    Path buildDir = tmp.resolve("builds/default/app");
    Files.createDirectories(buildDir);
    Files.writeString(buildDir.resolve("build.log"), "building app\n");
    Files.writeString(buildDir.resolve("done"), "");
    String objects = dev.procurator.apiserver.testing.TestNames.unique("objects");
    String logs = dev.procurator.apiserver.testing.TestNames.unique("logs");
    try (TestApiServer api = TestApiServer.start(java.util.List.of(), c -> c
        .withToken(objects + "-token", new dev.procurator.apiserver.auth.UserInfo(objects, java.util.List.of()))
        .withToken(logs + "-token", new dev.procurator.apiserver.auth.UserInfo(logs, java.util.List.of())))) {
      var client = api.client();
      client.rbac().roles().inNamespace("default").resource(new io.fabric8.kubernetes.api.model.rbac.RoleBuilder()
          .withNewMetadata().withName(objects).endMetadata()
          .addNewRule().withApiGroups("procurator.dev").withResources("vms", "builds").withVerbs("get").endRule().build()).create();
      client.rbac().roles().inNamespace("default").resource(new io.fabric8.kubernetes.api.model.rbac.RoleBuilder()
          .withNewMetadata().withName(logs).endMetadata()
          .addNewRule().withApiGroups("procurator.dev").withResources("vms/log", "builds/log").withVerbs("get").endRule().build()).create();
      for (String user : java.util.List.of(objects, logs)) {
        client.rbac().roleBindings().inNamespace("default").resource(new io.fabric8.kubernetes.api.model.rbac.RoleBindingBuilder()
            .withNewMetadata().withName(user).endMetadata()
            .withNewRoleRef().withApiGroup("rbac.authorization.k8s.io").withKind("Role").withName(user).endRoleRef()
            .addNewSubject().withApiGroup("rbac.authorization.k8s.io").withKind("User").withName(user).endSubject().build()).create();
      }
      AgentHttp http = new AgentHttp(new InetSocketAddress("127.0.0.1", 0), client, key -> tmp.resolve("vms").resolve(key),
          d -> new ConsoleLog(d.resolve("serial.log"), d.resolve("serial.log.1")), new PrometheusMeterRegistry(PrometheusConfig.DEFAULT),
          () -> { }).withBuildLogs(key -> tmp.resolve("builds").resolve(key)).start();
      try {
        for (String path : java.util.List.of("/logs/default/web", "/logs/builds/default/app")) {
          HttpResponse<String> refused = get(http, path, objects + "-token");
          assertThat(refused.statusCode()).as(path + ": " + refused.body()).isEqualTo(403);
          assertThat(refused.body()).contains("may not read");
          HttpResponse<String> read = get(http, path, logs + "-token");
          assertThat(read.statusCode()).as(path + ": " + read.body()).isEqualTo(200);
        }
        assertThat(get(http, "/logs/default/web", logs + "-token").body()).isEqualTo("PROCURATOR-READY 6.1\n");
        assertThat(get(http, "/logs/builds/default/app", logs + "-token").body()).isEqualTo("building app\n");
      } finally {
        http.close();
      }
    }
  }

  /**
   * {@code /metrics} answers a caller who may {@code get /metrics} (ClusterRole
   * {@code system:monitoring}): without a token 401, with a token that may not 403.
   */
  @Test
  void metricsNeedATokenThatMayGetMetrics() throws Exception {
    String monitoring = dev.procurator.apiserver.testing.TestNames.unique("prometheus");
    String other = dev.procurator.apiserver.testing.TestNames.unique("other");
    try (TestApiServer api = TestApiServer.start(java.util.List.of(), c -> c
        .withToken(monitoring + "-token", new dev.procurator.apiserver.auth.UserInfo(monitoring, java.util.List.of()))
        .withToken(other + "-token", new dev.procurator.apiserver.auth.UserInfo(other, java.util.List.of())))) {
      var client = api.client();
      client.rbac().clusterRoleBindings().resource(new io.fabric8.kubernetes.api.model.rbac.ClusterRoleBindingBuilder()
          .withNewMetadata().withName(monitoring).endMetadata()
          .withNewRoleRef().withApiGroup("rbac.authorization.k8s.io").withKind("ClusterRole").withName("system:monitoring").endRoleRef()
          .addNewSubject().withApiGroup("rbac.authorization.k8s.io").withKind("User").withName(monitoring).endSubject().build()).create();
      PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
      registry.counter("procurator_vm_boots").increment();
      AgentHttp http = new AgentHttp(new InetSocketAddress("127.0.0.1", 0), client, key -> tmp.resolve("vms").resolve(key),
          d -> new ConsoleLog(d.resolve("serial.log"), d.resolve("serial.log.1")), registry, () -> { }).start();
      try {
        HttpResponse<String> anonymous = HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create(http.url() + "/metrics"))
            .timeout(Duration.ofSeconds(20)).build(), HttpResponse.BodyHandlers.ofString());
        assertThat(anonymous.statusCode()).isEqualTo(401);
        assertThat(anonymous.body()).doesNotContain("procurator_vm_boots");
        HttpResponse<String> refused = get(http, "/metrics", other + "-token");
        assertThat(refused.statusCode()).as(refused.body()).isEqualTo(403);
        assertThat(refused.body()).contains("may not get /metrics").doesNotContain("procurator_vm_boots");
        assertThat(get(http, "/metrics", "no-such-token").statusCode()).isEqualTo(403);
        HttpResponse<String> read = get(http, "/metrics", monitoring + "-token");
        assertThat(read.statusCode()).as(read.body()).isEqualTo(200);
        assertThat(read.body()).contains("procurator_vm_boots_total 1.0");
      } finally {
        http.close();
      }
    }
  }

  private static HttpResponse<String> get(AgentHttp http, String path, String token) throws Exception {
    return HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create(http.url() + path)).header("Authorization", "Bearer " + token)
        .timeout(Duration.ofSeconds(20)).build(), HttpResponse.BodyHandlers.ofString());
  }
}
