package dev.procurator.nodeagent;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.procurator.api.runtime.Conditions;
import dev.procurator.api.v1alpha1.HealthCheckType;
import dev.procurator.api.v1alpha1.RestartPolicy;
import dev.procurator.api.v1alpha1.VM;
import dev.procurator.api.v1alpha1.VMPhase;
import dev.procurator.api.v1alpha1.VMSpec;
import dev.procurator.apiserver.testing.TestApiServer;
import dev.procurator.nodeagent.testing.Guest;
import dev.procurator.nodeagent.vm.VmLoop;
import io.fabric8.kubernetes.api.model.Condition;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Exec health checks through the example guest's agent, with real QEMU: a command that exits 0
 * makes its VM Healthy, one that fails makes it Unhealthy with the command's output in the
 * reason, and a guest with no agent (procurator.agent=off) fails its check saying the guest
 * agent did not answer.
 */
class GuestAgentIT {
  @TempDir Path data;

  @AfterEach
  void killLeftovers() throws Exception {
    Guest.killMachines(data);
  }

  private static VM vm(String name, String cmdline, List<String> command) {
    VM v = new VM();
    v.setMetadata(new ObjectMetaBuilder().withName(name).withNamespace("default").build());
    v.setSpec(new VMSpec(1, "128Mi", null, new VMSpec.Boot(null, "hello/vmlinux", "hello/initrd.cpio.gz", cmdline), "node-a", null,
        null, null, List.of(new VMSpec.HealthCheck(HealthCheckType.EXEC, null, null, command, 2, 2, 2)), RestartPolicy.NEVER, null));
    return v;
  }

  private static Condition healthy(VM vm) {
    return Conditions.find(vm.getStatus().conditions(), "Healthy").orElseThrow();
  }

  @Test
  void execChecksRunInTheGuestAndASilentGuestAgentIsSaidToBeSo() throws Exception {
    Path images = Guest.images();
    try (TestApiServer api = TestApiServer.embedded()) {
      KubernetesClient c = api.client();
      var vms = c.resources(VM.class).inNamespace("default");
      vms.resource(vm("passes", "console=ttyS0", List.of("test", "-f", "/www/healthz"))).create();
      vms.resource(vm("fails", "console=ttyS0", List.of("cat", "/www/no-such-file"))).create();
      vms.resource(vm("silent", "console=ttyS0 procurator.agent=off", List.of("test", "-f", "/www/healthz"))).create();
      VmLoop.Settings s = new VmLoop.Settings(Duration.ofMinutes(2), Duration.ofSeconds(10), Duration.ofMillis(500),
          Duration.ofSeconds(5), 1 << 20, Duration.ofSeconds(30));
      try (NodeAgent agent = new NodeAgent(c, NodeAgent.Config.of("node-a", data).withImagesDir(images).withSettings(s),
          Clock.systemUTC()).start()) {
        // Then the command that exits 0 makes its VM Healthy
        await().atMost(Duration.ofSeconds(150)).untilAsserted(() -> {
          VM v = vms.withName("passes").get();
          assertThat(v.getStatus()).isNotNull();
          assertThat(v.getStatus().phase()).isEqualTo(VMPhase.RUNNING);
          assertThat(healthy(v).getStatus() + " " + healthy(v).getMessage()).isEqualTo("True all 1 health checks pass");
        });
        // the one that fails takes its VM down as Unhealthy, with what the command said
        await().atMost(Duration.ofSeconds(150)).untilAsserted(() -> {
          VM v = vms.withName("fails").get();
          assertThat(v.getStatus()).isNotNull();
          assertThat(v.getStatus().phase()).isEqualTo(VMPhase.FAILED);
          assertThat(Conditions.reason(v.getStatus().conditions(), "Booted")).isEqualTo("Unhealthy");
          assertThat(healthy(v).getStatus()).isEqualTo("False");
          assertThat(healthy(v).getMessage()).startsWith("exec cat /www/no-such-file: exit 1: ").contains("No such file");
        });
        // and a guest without an agent is not silently unhealthy: the condition says the agent did not answer
        await().atMost(Duration.ofSeconds(150)).untilAsserted(() -> {
          VM v = vms.withName("silent").get();
          assertThat(v.getStatus()).isNotNull();
          assertThat(v.getStatus().phase()).isEqualTo(VMPhase.FAILED);
          assertThat(Conditions.reason(v.getStatus().conditions(), "Booted")).isEqualTo("Unhealthy");
          assertThat(healthy(v).getStatus()).isEqualTo("False");
          assertThat(healthy(v).getMessage()).isEqualTo("exec test -f /www/healthz: the guest agent did not answer within 5 s");
        });
        assertThat(vms.withName("passes").get().getStatus().phase()).as("the healthy one still runs").isEqualTo(VMPhase.RUNNING);
      }
    }
  }
}
