package dev.procurator.nodeagent.vm;

import static org.assertj.core.api.Assertions.assertThat;

import dev.procurator.api.v1alpha1.HealthCheckType;
import dev.procurator.api.v1alpha1.Hypervisor;
import dev.procurator.api.v1alpha1.RestartPolicy;
import dev.procurator.api.v1alpha1.VMSpec;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class LaunchTest {
  private static VMSpec spec(int cpu, List<VMSpec.HealthCheck> checks, RestartPolicy policy) {
    return new VMSpec(cpu, "128Mi", null, new VMSpec.Boot(null, "hello/vmlinux", "hello/initrd.cpio.gz", "console=ttyS0"), "n", null,
        new VMSpec.Network(null, List.of(new VMSpec.PortForward(8080, null))), null, checks, policy, null);
  }

  @Test
  void onlyChangesThatNeedANewBootDoNotMatch(@TempDir Path dir) throws Exception {
    VMSpec spec = spec(1, null, null);
    Launch launch = Launch.of(spec, List.of(new VMSpec.PortForward(8080, 40001)));
    launch.write(dir);
    Launch read = Launch.read(dir);

    assertThat(read).isEqualTo(launch);
    assertThat(read.hypervisor()).isEqualTo(Hypervisor.QEMU);
    assertThat(read.hostPort(8080)).isEqualTo(40001);
    assertThat(read.hostPort(22)).isEqualTo(-1);
    // restart policy and node do not need a new boot; CPUs and a new health-check port do
    assertThat(read.matches(spec(1, null, RestartPolicy.NEVER).withNodeName("other"))).isTrue();
    assertThat(read.matches(spec(2, null, null))).isFalse();
    assertThat(read.matches(spec(1, List.of(new VMSpec.HealthCheck(HealthCheckType.TCP, 22, null, null, null, null, null)), null)))
        .isFalse();
  }

  @Test
  void theGuestAddressComesFromTheCommandLineAndIsKeptWithTheLaunch(@TempDir Path dir) throws Exception {
    assertThat(Launch.guestAddress("console=ttyS0 procurator.ip=10.77.0.10/24 quiet")).isEqualTo("10.77.0.10");
    assertThat(Launch.guestAddress("procurator.ip=10.77.0.10")).isEqualTo("10.77.0.10");
    assertThat(Launch.guestAddress("procurator.ip=10.0.0.1/8 procurator.ip=10.0.0.2/8")).as("the last one counts").isEqualTo("10.0.0.2");
    assertThat(Launch.guestAddress("console=ttyS0")).isNull();
    assertThat(Launch.guestAddress("procurator.ip=not-an-address/24")).isNull();
    assertThat(Launch.guestAddress(null)).isNull();
    Launch launch = Launch.of(spec(1, null, null), List.of()).withGuestAddress("10.77.0.10");
    launch.write(dir);
    assertThat(Launch.read(dir).guestAddress()).isEqualTo("10.77.0.10");
    assertThat(Launch.read(dir).matches(spec(1, null, null))).isTrue();
  }

  @Test
  void aMissingOrDamagedFileIsNoLaunch(@TempDir Path dir) throws Exception {
    assertThat(Launch.read(dir)).isNull();
    java.nio.file.Files.writeString(dir.resolve(Launch.FILE), "{not json");
    assertThat(Launch.read(dir)).isNull();
  }
}
