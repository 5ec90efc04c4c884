package dev.procurator.nodeagent;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.procurator.api.runtime.Conditions;
import dev.procurator.api.v1alpha1.HealthCheckType;
import dev.procurator.api.v1alpha1.NetworkMode;
import dev.procurator.api.v1alpha1.VM;
import dev.procurator.api.v1alpha1.VMPhase;
import dev.procurator.api.v1alpha1.VMSpec;
import dev.procurator.apiserver.testing.TestApiServer;
import dev.procurator.nodeagent.testing.Guest;
import dev.procurator.nodeagent.vm.TapNetwork;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A VM in {@code tap} network mode, inside a network namespace this test creates with a bridge:
 * the agent makes the VM's tap device on the bridge, runs QEMU in the namespace, the guest answers
 * HTTP on its own address on the bridge, its http, tcp and exec checks pass (the first two sent to
 * that address from inside the namespace), and deleting the VM removes the device.
 */
class TapNetworkIT {
  @TempDir Path data;
  private final String netns = dev.procurator.apiserver.testing.TestNames.unique("pvt");

  private static String run(String... cmd) throws Exception {
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(p.waitFor(30, TimeUnit.SECONDS)).isTrue();
    assertThat(p.exitValue()).as(String.join(" ", cmd) + ": " + out).isZero();
    return out;
  }

  private static int exit(String... cmd) throws Exception {
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    p.getInputStream().readAllBytes();
    assertThat(p.waitFor(30, TimeUnit.SECONDS)).isTrue();
    return p.exitValue();
  }

  @BeforeEach
  void namespaceWithBridge() throws Exception {
    // creating a network namespace and a bridge takes CAP_SYS_ADMIN and CAP_NET_ADMIN: bin/test runs as root
    Process id = new ProcessBuilder("id", "-u").start();
    String uid = new String(id.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
    assertThat(uid).as("TapNetworkIT creates a network namespace and a bridge, which needs root; run the tests as root"
        + " (bin/test as root, or sudo), or leave this test out with -Dit.test='!TapNetworkIT'").isEqualTo("0");
    run("ip", "netns", "add", netns);
    run("ip", "-n", netns, "link", "set", "lo", "up");
    run("ip", "-n", netns, "link", "add", "br0", "type", "bridge");
    run("ip", "-n", netns, "addr", "add", "10.77.0.1/24", "dev", "br0");
    run("ip", "-n", netns, "link", "set", "br0", "up");
  }

  @AfterEach
  void cleanUp() throws Exception {
    Guest.killMachines(data);
    run("ip", "netns", "del", netns);
  }

  @Test
  void bootsOnTheBridgeAndRemovesItsDeviceWhenDeleted() throws Exception {
    Path images = Guest.images();
    try (TestApiServer api = TestApiServer.embedded()) {
      KubernetesClient c = api.client();
      VM vm = new VM();
      vm.setMetadata(new ObjectMetaBuilder().withName("bridged").withNamespace("default").build());
      vm.setSpec(new VMSpec(1, "128Mi", null,
          new VMSpec.Boot(null, "hello/vmlinux", "hello/initrd.cpio.gz", "console=ttyS0 procurator.ip=10.77.0.10/24"), "node-a", null,
          new VMSpec.Network(NetworkMode.TAP, null), null, List.of(
              new VMSpec.HealthCheck(HealthCheckType.HTTP, 8080, "/healthz", null, 2, 2, 3),
              new VMSpec.HealthCheck(HealthCheckType.TCP, 8080, null, null, 2, 2, 3),
              new VMSpec.HealthCheck(HealthCheckType.EXEC, null, null, List.of("test", "-f", "/www/healthz"), 2, 2, 3)), null, null));
      var vms = c.resources(VM.class).inNamespace("default");
      vms.resource(vm).create();
      NodeAgent.Config config = NodeAgent.Config.of("node-a", data).withImagesDir(images).withTap("br0", netns);
      try (NodeAgent agent = new NodeAgent(c, config, Clock.systemUTC()).start()) {
        await().atMost(Duration.ofSeconds(120)).untilAsserted(() ->
            assertThat(vms.withName("bridged").get().getStatus().phase()).isEqualTo(VMPhase.RUNNING));
        // its checks reach it: http and tcp on its address on the bridge, inside the namespace; exec through its guest agent
        await().atMost(Duration.ofSeconds(60)).untilAsserted(() -> {
          var healthy = Conditions.find(vms.withName("bridged").get().getStatus().conditions(), "Healthy");
          assertThat(healthy).as("Healthy").isPresent();
          assertThat(healthy.get().getStatus() + " " + healthy.get().getMessage()).isEqualTo("True all 3 health checks pass");
        });
        String device = TapNetwork.deviceFor("default/bridged");
        assertThat(run("ip", "-n", netns, "link", "show", device)).contains("master br0");
        // the guest, on its own address on the bridge, reached from inside the namespace
        await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> assertThat(
            run("ip", "netns", "exec", netns, "curl", "-s", "--max-time", "5", "http://10.77.0.10:8080/healthz")).contains("ok"));

        vms.withName("bridged").delete();
        await().atMost(Duration.ofSeconds(60)).until(() -> vms.withName("bridged").get() == null);
        assertThat(exit("ip", "-n", netns, "link", "show", device)).isNotZero();
        assertThat(List.of(data.resolve("vms/default/bridged").toFile().exists())).containsExactly(false);
      }
    }
  }
}
