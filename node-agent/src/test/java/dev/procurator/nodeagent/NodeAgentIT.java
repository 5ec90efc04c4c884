package dev.procurator.nodeagent;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.procurator.api.runtime.ObjectKey;
import dev.procurator.api.v1alpha1.HealthCheckType;
import dev.procurator.api.v1alpha1.Node;
import dev.procurator.api.v1alpha1.NodeAgreements;
import dev.procurator.api.v1alpha1.RestartPolicy;
import dev.procurator.api.v1alpha1.VM;
import dev.procurator.api.v1alpha1.VMPhase;
import dev.procurator.api.v1alpha1.VMSpec;
import dev.procurator.apiserver.testing.TestApiServer;
import dev.procurator.nodeagent.hypervisor.RunningMachine;
import dev.procurator.nodeagent.testing.Guest;
import dev.procurator.nodeagent.vm.VmLoop;
import io.fabric8.kubernetes.api.model.Condition;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A node agent against a real API server, booting the example guest with real QEMU (TCG here):
 * VMs reach Running with health and ports in their status, the console streams through the API
 * server, a killed QEMU is restarted, a new agent adopts running VMs without rebooting them, bad
 * boot sources and guests that never get ready or healthy end as conditions, and deletion stops
 * the machine before the object goes.
 */
class NodeAgentIT {
  private static Path images;
  @TempDir Path data;

  @BeforeAll
  static void guest() throws Exception {
    images = Guest.images();
  }

  @AfterEach
  void killLeftovers() throws Exception {
    Guest.killMachines(data);
  }

  /** Reaches the agent's TLS endpoint, trusting the cluster CA. */
  private HttpClient agentHttp;

  /**
   * Trusts certificates of the cluster CA, as the API server does the agent's: a node's certificate
   * names the node, not the address it listens at, so the address is not checked against it.
   */
  private static javax.net.ssl.SSLContext trustingNodeCertificates(String caPem) throws Exception {
    java.security.KeyStore ks = java.security.KeyStore.getInstance(java.security.KeyStore.getDefaultType());
    ks.load(null, null);
    ks.setCertificateEntry("ca", java.security.cert.CertificateFactory.getInstance("X.509")
        .generateCertificate(new java.io.ByteArrayInputStream(caPem.getBytes(java.nio.charset.StandardCharsets.UTF_8))));
    var tmf = javax.net.ssl.TrustManagerFactory.getInstance(javax.net.ssl.TrustManagerFactory.getDefaultAlgorithm());
    tmf.init(ks);
    var ca = (javax.net.ssl.X509TrustManager) tmf.getTrustManagers()[0];
    var chainOnly = new javax.net.ssl.X509ExtendedTrustManager() {
      @Override
      public void checkServerTrusted(java.security.cert.X509Certificate[] chain, String authType) throws java.security.cert.CertificateException {
        ca.checkServerTrusted(chain, authType);
      }

      @Override
      public void checkServerTrusted(java.security.cert.X509Certificate[] chain, String authType, java.net.Socket socket)
          throws java.security.cert.CertificateException {
        ca.checkServerTrusted(chain, authType);
      }

      @Override
      public void checkServerTrusted(java.security.cert.X509Certificate[] chain, String authType, javax.net.ssl.SSLEngine engine)
          throws java.security.cert.CertificateException {
        ca.checkServerTrusted(chain, authType);
      }

      @Override
      public void checkClientTrusted(java.security.cert.X509Certificate[] chain, String authType) throws java.security.cert.CertificateException {
        throw new java.security.cert.CertificateException("a client only");
      }

      @Override
      public void checkClientTrusted(java.security.cert.X509Certificate[] chain, String authType, java.net.Socket socket)
          throws java.security.cert.CertificateException {
        throw new java.security.cert.CertificateException("a client only");
      }

      @Override
      public void checkClientTrusted(java.security.cert.X509Certificate[] chain, String authType, javax.net.ssl.SSLEngine engine)
          throws java.security.cert.CertificateException {
        throw new java.security.cert.CertificateException("a client only");
      }

      @Override
      public java.security.cert.X509Certificate[] getAcceptedIssuers() {
        return ca.getAcceptedIssuers();
      }
    };
    javax.net.ssl.SSLContext ssl = javax.net.ssl.SSLContext.getInstance("TLS");
    ssl.init(null, new javax.net.ssl.TrustManager[] {chainOnly}, null);
    return ssl;
  }

  /** An agent serving its endpoint over TLS with node-a's certificate, as every agent does: the API server reaches agents only so. */
  private NodeAgent agent(TestApiServer api) throws Exception {
    VmLoop.Settings s = new VmLoop.Settings(Duration.ofMinutes(2), Duration.ofSeconds(10), Duration.ofMillis(500),
        Duration.ofSeconds(5), 1 << 20, Duration.ofSeconds(30));
    var cert = api.nodeCertificate("node-a");
    agentHttp = HttpClient.newBuilder().sslContext(trustingNodeCertificates(api.pki().caPem())).build();
    return new NodeAgent(api.client(), NodeAgent.Config.of("node-a", data).withImagesDir(images).withSettings(s), Clock.systemUTC())
        .withServingTls(new dev.procurator.nodeagent.http.AgentHttp.Tls(cert.certPem(), cert.keyPem(), api.pki().caPem())).start();
  }

  private static VM vm(String name, VMSpec.Boot boot, List<VMSpec.HealthCheck> checks, RestartPolicy policy, Integer bootTimeout) {
    VM v = new VM();
    v.setMetadata(new ObjectMetaBuilder().withName(name).withNamespace("default").build());
    v.setSpec(new VMSpec(1, "128Mi", null, boot, "node-a", null,
        new VMSpec.Network(null, List.of(new VMSpec.PortForward(8080, null))), null, checks, policy, bootTimeout));
    return v;
  }

  private static VMSpec.Boot hello(String cmdline) {
    return new VMSpec.Boot(null, "hello/vmlinux", "hello/initrd.cpio.gz", cmdline);
  }

  private static VM get(KubernetesClient c, String name) {
    return c.resources(VM.class).inNamespace("default").withName(name).get();
  }

  private static Optional<Condition> condition(VM vm, String type) {
    if (vm == null || vm.getStatus() == null || vm.getStatus().conditions() == null) {
      return Optional.empty();
    }
    return vm.getStatus().conditions().stream().filter(c -> c.getType().equals(type)).findFirst();
  }

  private double followers(NodeAgent agent) throws Exception {
    String body = agentHttp.send(HttpRequest.newBuilder(URI.create(agent.endpoint() + "/metrics"))
            .header("Authorization", "Bearer " + TestApiServer.TOKEN).build(),
        HttpResponse.BodyHandlers.ofString()).body();
    return body.lines().filter(l -> l.startsWith("procurator_agent_console_followers ")).mapToDouble(l -> Double.parseDouble(l.split(" ")[1]))
        .findFirst().orElseThrow();
  }

  private long qemuPid(String name) throws Exception {
    return Long.parseLong(Files.readString(data.resolve("vms/default").resolve(name).resolve("qemu.pid")).trim());
  }

  @Test
  void runsVmsThroughFailuresRestartsAndAdoption() throws Exception {
    try (TestApiServer api = TestApiServer.embedded()) {
      KubernetesClient c = api.client();
      var health = new VMSpec.HealthCheck(HealthCheckType.HTTP, 8080, "/healthz", null, 1, 2, 3);
      var vms = c.resources(VM.class).inNamespace("default");
      vms.resource(vm("web", hello("console=ttyS0"), List.of(health), null, null)).create();
      vms.resource(vm("nokernel", new VMSpec.Boot(null, "missing/vmlinux", null, null), null, null, null)).create();
      // a kernel that finds no init panics and never prints the ready line
      vms.resource(vm("noready", hello("console=ttyS0 rdinit=/does-not-exist"), null, RestartPolicy.ON_FAILURE, 4)).create();
      var failing = new VMSpec.HealthCheck(HealthCheckType.TCP, 9, null, null, 1, 1, 2);
      vms.resource(vm("unhealthy", hello("console=ttyS0"), List.of(failing), RestartPolicy.NEVER, null)).create();

      NodeAgent agent = agent(api);
      try {
        // Then the good VM runs, is healthy, and says where its ports are
        await().atMost(Duration.ofSeconds(120)).untilAsserted(() -> {
          VM web = get(c, "web");
          assertThat(web.getStatus()).as("status of web").isNotNull();
          assertThat(web.getStatus().phase()).isEqualTo(VMPhase.RUNNING);
          assertThat(condition(web, "Booted").orElseThrow().getStatus()).isEqualTo("True");
          assertThat(condition(web, "Healthy").orElseThrow().getStatus()).isEqualTo("True");
        });
        VM web = get(c, "web");
        assertThat(web.getMetadata().getFinalizers()).contains(NodeAgreements.AGENT_FINALIZER);
        // what happened is told as Events, as kubectl describe shows them
        await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> assertThat(c.v1().events().inNamespace("default")
            .withField("involvedObject.name", "web").list().getItems()).extracting(io.fabric8.kubernetes.api.model.Event::getReason)
            .contains("Starting", "Started", "Ready"));
        int port = web.getStatus().ports().getFirst().host();
        HttpResponse<String> healthz = HttpClient.newHttpClient().send(
            HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/healthz")).timeout(Duration.ofSeconds(10)).build(),
            HttpResponse.BodyHandlers.ofString());
        assertThat(healthz.statusCode()).isEqualTo(200);

        // the Node carries the agent's endpoint and what runs here
        await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> {
          Node n = c.resources(Node.class).withName("node-a").get();
          assertThat(n.getSpec().agentEndpoint()).isEqualTo(agent.endpoint());
        });

        // the console through the API server (proxied to this agent), and metrics from the agent
        HttpResponse<String> logs = api.request("GET", "/apis/procurator.dev/v1alpha1/namespaces/default/vms/web/log", null, null);
        assertThat(logs.statusCode()).as(logs.body()).isEqualTo(200);
        assertThat(logs.body()).contains("PROCURATOR-READY");
        HttpResponse<String> tail = api.request("GET", "/apis/procurator.dev/v1alpha1/namespaces/default/vms/web/log?tailLines=1", null, null);
        assertThat(tail.body().strip().lines().count()).isEqualTo(1);
        HttpResponse<String> noToken = api.request("GET", "/apis/procurator.dev/v1alpha1/namespaces/default/vms/web/log", null, null, "wrong");
        assertThat(noToken.statusCode()).isEqualTo(401);
        // metrics, for a caller that may get /metrics; none for an anonymous one
        HttpResponse<String> anonymous = agentHttp.send(
            HttpRequest.newBuilder(URI.create(agent.endpoint() + "/metrics")).build(), HttpResponse.BodyHandlers.ofString());
        assertThat(anonymous.statusCode()).isEqualTo(401);
        assertThat(anonymous.body()).doesNotContain("procurator_vm");
        HttpResponse<String> metrics = agentHttp.send(HttpRequest.newBuilder(URI.create(agent.endpoint() + "/metrics"))
            .header("Authorization", "Bearer " + TestApiServer.TOKEN).build(), HttpResponse.BodyHandlers.ofString());
        assertThat(metrics.statusCode()).isEqualTo(200);
        assertThat(metrics.body()).contains("procurator_vm_rss_bytes{namespace=\"default\",vm=\"web\"}", "procurator_vm_boots_total");

        // a client following the console and then going away ends its follower on the agent
        HttpResponse<java.io.InputStream> following = agentHttp.send(
            HttpRequest.newBuilder(URI.create(agent.endpoint() + "/logs/default/web?follow=true"))
                .header("Authorization", "Bearer " + TestApiServer.TOKEN).build(), HttpResponse.BodyHandlers.ofInputStream());
        assertThat(following.statusCode()).isEqualTo(200);
        java.io.InputStream in = following.body();
        StringBuilder seen = new StringBuilder();
        byte[] buf = new byte[8192];
        while (!seen.toString().contains("PROCURATOR-READY")) {
          int n = in.read(buf);
          assertThat(n).isPositive();
          seen.append(new String(buf, 0, n, java.nio.charset.StandardCharsets.ISO_8859_1));
        }
        assertThat(followers(agent)).isEqualTo(1.0);
        in.close();
        await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> assertThat(followers(agent)).isZero());

        // a missing kernel fails with its path; a guest that never gets ready is restarted; one that fails its checks stops
        await().atMost(Duration.ofSeconds(60)).untilAsserted(() -> {
          VM nk = get(c, "nokernel");
          assertThat(nk.getStatus().phase()).isEqualTo(VMPhase.FAILED);
          assertThat(nk.getStatus().message()).contains(images.resolve("missing/vmlinux").toString());
        });
        await().atMost(Duration.ofSeconds(90)).untilAsserted(() -> {
          VM nr = get(c, "noready");
          assertThat(nr.getStatus().restartCount()).isGreaterThanOrEqualTo(1);
          // between boots, the message says why and shows the console's last lines
          assertThat(nr.getStatus().message()).contains("did not print PROCURATOR-READY within 4 s; last console lines: ", "restarting in");
        });
        await().atMost(Duration.ofSeconds(90)).untilAsserted(() -> {
          VM uh = get(c, "unhealthy");
          assertThat(uh.getStatus().phase()).isEqualTo(VMPhase.FAILED);
          assertThat(condition(uh, "Booted").orElseThrow().getReason()).isEqualTo("Unhealthy");
          assertThat(condition(uh, "Healthy").orElseThrow().getStatus()).isEqualTo("False");
          assertThat(uh.getStatus().restartCount()).isZero();
        });
        await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> assertThat(c.v1().events().inNamespace("default")
            .withField("involvedObject.name", "unhealthy").list().getItems()).extracting(io.fabric8.kubernetes.api.model.Event::getReason)
            .contains("Started", "Unhealthy"));
        // its QEMU is gone: no process on this machine runs a machine out of its directory (pidfile or not)
        assertThat(processesMentioning(data.resolve("vms/default/unhealthy").toString())).as("QEMU of unhealthy").isEmpty();
        assertThat(vms.withName("noready").delete()).isNotEmpty();
        await().atMost(Duration.ofSeconds(30)).until(() -> get(c, "noready") == null);

        // When QEMU is killed, Then the VM is booted again
        long pid = qemuPid("web");
        ProcessHandle.of(pid).orElseThrow().destroyForcibly();
        await().atMost(Duration.ofSeconds(120)).untilAsserted(() -> {
          VM w = get(c, "web");
          assertThat(w.getStatus().restartCount()).isEqualTo(1);
          assertThat(w.getStatus().phase()).isEqualTo(VMPhase.RUNNING);
          assertThat(qemuPid("web")).isNotEqualTo(pid);
        });
      } finally {
        agent.close();
      }

      // When the agent is replaced, Then the running VM is adopted, not rebooted
      long before = qemuPid("web");
      String console = Files.readString(data.resolve("vms/default/web/serial.log"));
      try (NodeAgent second = agent(api)) {
        ObjectKey web = ObjectKey.of("default", "web");
        await().atMost(Duration.ofSeconds(10)).until(() -> second.host().running().containsKey(web));
        assertThat(second.host().running().get(web)).isEqualTo(before);
        assertThat(get(c, "web").getStatus().phase()).isEqualTo(VMPhase.RUNNING);
        assertThat(Files.readString(data.resolve("vms/default/web/serial.log"))).startsWith(console);

        // a follower of the console, through the API server, sees what the guest prints from now on
        HttpResponse<java.io.InputStream> live = api.http().send(HttpRequest.newBuilder(URI.create(api.url()
                + "/apis/procurator.dev/v1alpha1/namespaces/default/vms/web/log?follow=true"))
            .header("Authorization", "Bearer " + TestApiServer.TOKEN).build(), HttpResponse.BodyHandlers.ofInputStream());
        assertThat(live.statusCode()).isEqualTo(200);
        StringBuilder streamed = new StringBuilder();
        Thread reader = Thread.ofVirtual().start(() -> {
          byte[] b = new byte[8192];
          try (java.io.InputStream s = live.body()) {
            for (int n; (n = s.read(b)) > 0; ) {
              synchronized (streamed) {
                streamed.append(new String(b, 0, n, java.nio.charset.StandardCharsets.ISO_8859_1));
              }
            }
          } catch (java.io.IOException ended) {
            // the stream ends with the VM
          }
        });
        await().atMost(Duration.ofSeconds(20)).until(() -> { synchronized (streamed) { return streamed.toString().contains("PROCURATOR-READY"); } });

        // When the VM is deleted, Then its machine is stopped before the object is gone
        vms.withName("web").delete();
        // the guest's power-off line is printed after the follow began: it arrives only if the console streams live
        await().atMost(Duration.ofSeconds(60)).until(() -> { synchronized (streamed) { return streamed.toString().contains("PROCURATOR-POWEROFF"); } });
        reader.interrupt();
        await().atMost(Duration.ofSeconds(60)).until(() -> get(c, "web") == null);
        assertThat(new RunningMachine(before, null).alive()).as("QEMU has exited").isFalse();
        assertThat(data.resolve("vms/default/web")).doesNotExist();
      }
    }
  }

  @Test
  void aVmThatNamesAHostFileOutsideItsRootsFailsAndQemuNeverSeesThePath() throws Exception {
    Path secret = Files.writeString(data.resolve("host-secret.key"), "not for guests");
    try (TestApiServer api = TestApiServer.embedded()) {
      KubernetesClient c = api.client();
      var vms = c.resources(VM.class).inNamespace("default");
      vms.resource(vm("escape", new VMSpec.Boot(null, "hello/vmlinux", secret.toString(), "console=ttyS0"), null, RestartPolicy.NEVER, null))
          .create();
      NodeAgent agent = agent(api);
      try {
        await().atMost(Duration.ofSeconds(60)).untilAsserted(() -> {
          VM vm = get(c, "escape");
          assertThat(vm.getStatus().phase()).isEqualTo(VMPhase.FAILED);
          Condition booted = condition(vm, "Booted").orElseThrow();
          assertThat(booted.getReason()).isEqualTo("BootPathForbidden");
          assertThat(booted.getMessage()).contains(secret.toString()).contains("outside the roots");
        });
        Path dir = data.resolve("vms/default/escape");
        assertThat(dir.resolve("qemu.pid")).doesNotExist();
        assertThat(dir.resolve("launch.json")).as("nothing was launched").doesNotExist();
        assertThat(processesMentioning(secret.toString())).as("no process was given the path").isEmpty();
      } finally {
        agent.close();
      }
    }
  }

  @Test
  void aGuestCannotReachAPortOnTheHostsLoopback() throws Exception {
    java.util.concurrent.atomic.AtomicInteger requests = new java.util.concurrent.atomic.AtomicInteger();
    com.sun.net.httpserver.HttpServer host = com.sun.net.httpserver.HttpServer.create(
        new java.net.InetSocketAddress(java.net.InetAddress.getLoopbackAddress(), 0), 0);
    host.createContext("/", ex -> {
      requests.incrementAndGet();
      ex.sendResponseHeaders(200, -1);
      ex.close();
    });
    host.start();
    try (TestApiServer api = TestApiServer.embedded()) {
      KubernetesClient c = api.client();
      int port = host.getAddress().getPort();
      // QEMU's user network shows the host's 127.0.0.1 to the guest as 10.0.2.2
      c.resources(VM.class).inNamespace("default").resource(vm("prober",
          hello("console=ttyS0 procurator.probe=10.0.2.2:" + port), null, RestartPolicy.NEVER, null)).create();
      NodeAgent agent = agent(api);
      try {
        Path console = data.resolve("vms/default/prober/serial.log");
        await().atMost(Duration.ofSeconds(90)).until(() -> Files.exists(console) && Files.readString(console).contains("PROCURATOR-PROBE"));
        assertThat(Files.readString(console)).contains("PROCURATOR-PROBE 10.0.2.2:" + port + " unreachable");
        assertThat(requests.get()).as("requests that reached the host's loopback from the guest").isZero();
        // the forwarded port still reaches the guest
        await().atMost(Duration.ofSeconds(60)).until(() -> get(c, "prober").getStatus() != null
            && get(c, "prober").getStatus().phase() == VMPhase.RUNNING);
        int forwarded = get(c, "prober").getStatus().ports().getFirst().host();
        HttpResponse<String> r = HttpClient.newHttpClient().send(
            HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + forwarded + "/healthz")).timeout(Duration.ofSeconds(10)).build(),
            HttpResponse.BodyHandlers.ofString());
        assertThat(r.statusCode()).isEqualTo(200);
      } finally {
        agent.close();
      }
    } finally {
      host.stop(0);
    }
  }

  /** Live processes whose command line mentions {@code text}, as "pid command line". */
  static List<String> processesMentioning(String text) {
    return ProcessHandle.allProcesses().filter(ProcessHandle::isAlive)
        .map(h -> h.pid() + " " + h.info().commandLine().orElse(""))
        .filter(l -> l.contains(text) && !l.contains("surefire") && !l.contains("failsafe")).toList();
  }
}
