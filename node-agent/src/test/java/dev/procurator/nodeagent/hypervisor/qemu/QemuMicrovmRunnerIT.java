package dev.procurator.nodeagent.hypervisor.qemu;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.procurator.nodeagent.hypervisor.LaunchPlan;
import dev.procurator.nodeagent.hypervisor.MachineSpec;
import dev.procurator.nodeagent.hypervisor.RunningMachine;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The example guest booted for real by QEMU microvm (TCG here), found again, and stopped. */
class QemuMicrovmRunnerIT {
  private static Path IMAGES;
  @TempDir Path dir;

  @BeforeAll
  static void buildGuest() throws Exception {
    IMAGES = dev.procurator.nodeagent.testing.Guest.images().resolve("hello");
  }

  /** A machine, the host port its guest's 8080 is forwarded to, and its plan. */
  private record Started(int port, LaunchPlan plan, RunningMachine vm) {}

  /**
   * Starts the machine {@code spec} gives for a host port found free; a port taken before QEMU binds
   * it (QEMU then refuses the forwarding rule) is tried again on another.
   */
  private static Started startOnFreePort(QemuMicrovmRunner runner, java.util.function.IntFunction<MachineSpec> spec) throws Exception {
    for (int attempt = 1; ; attempt++) {
      int port = dev.procurator.apiserver.testing.EtcdProcess.freePort();
      LaunchPlan plan = runner.plan(spec.apply(port));
      try {
        return new Started(port, plan, runner.start(plan));
      } catch (java.io.IOException e) {
        if (attempt == 3 || !String.valueOf(e.getMessage()).contains("forwarding")) {
          throw e;
        }
      }
    }
  }

  private MachineSpec spec(int hostPort) {
    return new MachineSpec("hello", 1, 128, IMAGES.resolve("vmlinux"), IMAGES.resolve("initrd.cpio.gz"), "console=ttyS0 quiet",
        List.of(new MachineSpec.PortForward(hostPort, 8080)), dir.resolve("vm"));
  }

  @Test
  void bootsToTheReadyLineServesHealthIsAdoptedAndPowersOffCleanly() throws Exception {
    QemuMicrovmRunner runner = QemuMicrovmRunner.forThisHost();
    Started started = startOnFreePort(runner, this::spec);
    int port = started.port();
    LaunchPlan plan = started.plan();
    RunningMachine vm = started.vm();
    try {
      await().atMost(Duration.ofSeconds(90)).untilAsserted(() ->
          assertThat(Files.readString(plan.serialLog())).contains("PROCURATOR-READY"));
      assertThat(runner.status(vm)).isEqualTo("running");
      HttpResponse<String> health = HttpClient.newHttpClient().send(
          HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/healthz")).timeout(Duration.ofSeconds(10)).build(),
          HttpResponse.BodyHandlers.ofString());
      assertThat(health.body().trim()).isEqualTo("ok");

      // a new runner (a restarted agent) finds the same process through the pidfile
      RunningMachine adopted = QemuMicrovmRunner.forThisHost().adopt(plan).orElseThrow();
      assertThat(adopted.pid()).isEqualTo(vm.pid());

      runner.stop(adopted, Duration.ofSeconds(30));
      assertThat(vm.alive()).isFalse();
      assertThat(Files.readString(plan.serialLog())).contains("PROCURATOR-POWEROFF");
      assertThat(runner.adopt(plan)).isEmpty();
    } finally {
      ProcessHandle.of(vm.pid()).ifPresent(ProcessHandle::destroyForcibly);
    }
  }

  @Test
  void aGuestThatIgnoresThePowerButtonIsEndedWhenItsGraceRunsOut() throws Exception {
    QemuMicrovmRunner runner = QemuMicrovmRunner.forThisHost();
    // acpi=off: the guest's kernel never hears the power button, as a hung or careless guest would not
    Started started = startOnFreePort(runner, port -> new MachineSpec("deaf", 1, 128, IMAGES.resolve("vmlinux"),
        IMAGES.resolve("initrd.cpio.gz"), "console=ttyS0 quiet acpi=off", List.of(new MachineSpec.PortForward(port, 8080)), dir.resolve("deaf")));
    LaunchPlan plan = started.plan();
    RunningMachine vm = started.vm();
    try {
      await().atMost(Duration.ofSeconds(90)).untilAsserted(() ->
          assertThat(Files.readString(plan.serialLog())).contains("PROCURATOR-READY"));
      Duration grace = Duration.ofSeconds(3);
      long t0 = System.nanoTime();
      runner.stop(vm, grace);
      Duration took = Duration.ofNanos(System.nanoTime() - t0);
      assertThat(vm.alive()).as("ended all the same").isFalse();
      assertThat(took).as("it was given its grace first").isGreaterThanOrEqualTo(grace);
      assertThat(took).as("and ended soon after").isLessThan(grace.plusSeconds(20));
      assertThat(Files.readString(plan.serialLog())).as("the guest never powered off by itself").doesNotContain("PROCURATOR-POWEROFF");
    } finally {
      ProcessHandle.of(vm.pid()).ifPresent(ProcessHandle::destroyForcibly);
    }
  }

  @Test
  void aKilledHypervisorIsNotAdopted() throws Exception {
    QemuMicrovmRunner runner = QemuMicrovmRunner.forThisHost();
    Started started = startOnFreePort(runner, this::spec);
    LaunchPlan plan = started.plan();
    RunningMachine vm = started.vm();
    ProcessHandle.of(vm.pid()).orElseThrow().destroyForcibly();
    await().atMost(Duration.ofSeconds(10)).until(() -> !vm.alive());
    assertThat(runner.adopt(plan)).isEmpty();
  }

  @Test
  void aMissingKernelIsRefusedBeforeAnythingStarts() {
    MachineSpec missing = new MachineSpec("x", 1, 128, dir.resolve("no-such-vmlinux"), null, null, List.of(), dir.resolve("x"));
    assertThatThrownBy(() -> QemuMicrovmRunner.forThisHost().plan(missing))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("no-such-vmlinux");
  }

  @Test
  void kvmIsUsedOnlyWhereItReallyWorks() throws Exception {
    Path cpuinfo = dir.resolve("cpuinfo");
    Path kvm = Files.createFile(dir.resolve("kvm"));
    Files.writeString(cpuinfo, "flags\t\t: fpu vme sse2 vmx avx\n");
    assertThat(Accelerator.detect(kvm, dir.resolve("no-pvm"), cpuinfo)).isEqualTo("kvm");
    Path pvm = Files.createDirectory(dir.resolve("kvm_pvm"));
    assertThat(Accelerator.detect(kvm, pvm, cpuinfo)).isEqualTo("tcg");
    Files.writeString(cpuinfo, "flags\t\t: fpu vme sse2 avx\n");
    assertThat(Accelerator.detect(kvm, dir.resolve("no-pvm"), cpuinfo)).isEqualTo("tcg");
    assertThat(Accelerator.detect(dir.resolve("no-kvm"), dir.resolve("no-pvm"), cpuinfo)).isEqualTo("tcg");
  }
}
