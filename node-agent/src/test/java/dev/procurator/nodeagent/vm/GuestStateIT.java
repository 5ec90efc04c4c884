package dev.procurator.nodeagent.vm;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.procurator.api.runtime.Backoff;
import dev.procurator.api.runtime.EventRecorder;
import dev.procurator.api.runtime.Informers;
import dev.procurator.api.runtime.LoopBuilder;
import dev.procurator.api.runtime.ObjectKey;
import dev.procurator.api.v1alpha1.Hypervisor;
import dev.procurator.api.v1alpha1.NodeAgreements;
import dev.procurator.api.v1alpha1.VM;
import dev.procurator.api.v1alpha1.VMPhase;
import dev.procurator.api.v1alpha1.VMSpec;
import dev.procurator.api.v1alpha1.VMStatus;
import dev.procurator.apiserver.testing.TestApiServer;
import dev.procurator.nodeagent.NodeObjects;
import dev.procurator.nodeagent.hypervisor.LaunchPlan;
import dev.procurator.nodeagent.hypervisor.MachineSpec;
import dev.procurator.nodeagent.hypervisor.Runner;
import dev.procurator.nodeagent.hypervisor.RunningMachine;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What the agent does when the hypervisor still runs but reports the guest dead (KVM's
 * internal-error, which QEMU under TCG never reaches): the logic around the runner, with a runner
 * whose "hypervisor" is a sleep process and whose state the test sets, against a real API server.
 */
class GuestStateIT {
  @TempDir Path dir;

  /** Starts {@code sleep}, writes the ready line to its console, and reports whatever state the test sets. */
  static final class ScriptedRunner implements Runner {
    volatile String state = "running";
    final List<Long> started = new java.util.concurrent.CopyOnWriteArrayList<>();

    @Override
    public String name() {
      return "qemu";
    }

    @Override
    public LaunchPlan plan(MachineSpec spec) {
      LaunchPlan f = files(spec.workDir());
      return new LaunchPlan(List.of("sleep", "600"), f.workDir(), f.pidFile(), f.controlSocket(), f.serialLog(), "none");
    }

    @Override
    public LaunchPlan files(Path workDir) {
      return new LaunchPlan(List.of(), workDir, workDir.resolve("pid"), workDir.resolve("ctl"), workDir.resolve("serial.log"), "none");
    }

    @Override
    public RunningMachine start(LaunchPlan plan) throws IOException {
      Files.createDirectories(plan.workDir());
      Process p = new ProcessBuilder(plan.command()).start();
      started.add(p.pid());
      Files.writeString(plan.pidFile(), Long.toString(p.pid()));
      Files.writeString(plan.serialLog(), "booting\n" + ConsoleLog.READY_LINE + "\n");
      state = "running";
      return new RunningMachine(p.pid(), plan);
    }

    @Override
    public Optional<RunningMachine> adopt(LaunchPlan plan) {
      try {
        long pid = Long.parseLong(Files.readString(plan.pidFile()).trim());
        return ProcessHandle.of(pid).filter(ProcessHandle::isAlive).map(h -> new RunningMachine(pid, plan));
      } catch (IOException | NumberFormatException e) {
        return Optional.empty();
      }
    }

    @Override
    public Optional<String> state(RunningMachine machine) {
      return Optional.of(state);
    }

    @Override
    public void stop(RunningMachine machine, Duration grace) {
      ProcessHandle.of(machine.pid()).ifPresent(h -> {
        h.destroyForcibly();
        h.onExit().join();
      });
    }
  }

  @Test
  void aGuestReportedDeadIsTreatedAsACrashAndRestarted() throws Exception {
    Path kernel = Files.writeString(dir.resolve("vmlinux"), "not really a kernel");
    ScriptedRunner runner = new ScriptedRunner();
    try (TestApiServer api = TestApiServer.embedded()) {
      KubernetesClient c = api.client();
      VM vm = new VM();
      vm.setMetadata(new ObjectMetaBuilder().withName("ghost").withNamespace("default").build());
      vm.setSpec(new VMSpec(1, "128Mi", null, new VMSpec.Boot(null, kernel.toString(), null, null), "node-a", null, null, null,
          null, null, null));
      var vms = c.resources(VM.class).inNamespace("default");
      vms.resource(vm).create();
      VmLoop.Settings settings = new VmLoop.Settings(Duration.ofSeconds(30), Duration.ofSeconds(1), Duration.ofMillis(100),
          Duration.ofSeconds(1), 1 << 20, Duration.ofMillis(200));
      SimpleMeterRegistry metrics = new SimpleMeterRegistry();
      var informer = c.resources(VM.class).inAnyNamespace().withField("spec.nodeName", "node-a").runnableInformer(0);
      VmHost[] hosts = new VmHost[1];
      try (EventRecorder events = new EventRecorder(c, "procurator.dev/node-agent", "node-a", Clock.systemUTC());
          Informers informers = new Informers(c).use(VM.class, informer);
          LoopBuilder.Running loop = LoopBuilder.<VM, VMStatus, VmAction>forKind("agent", VM.class, informers,
                  new NodeObjects<>(c, VM.class, informer, VmLoop.heldBy("node-a")))
              .updatesWhen(VmLoop::matters).finalizer(NodeAgreements.AGENT_FINALIZER).events(events)
              .backoff(new Backoff<>(Duration.ofMillis(100), Duration.ofSeconds(1)))
              .start(queue -> {
                try {
                  hosts[0] = new VmHost(Map.of(Hypervisor.QEMU, runner), new BootResolver(dir, null, Duration.ofMinutes(1)),
                      dir.resolve("vms"), Optional.empty(), Optional.empty(), settings, Clock.systemUTC(), metrics, events, queue::enqueue);
                } catch (IOException e) {
                  throw new java.io.UncheckedIOException(e);
                }
                return new VmLoop(hosts[0], settings, Clock.systemUTC());
              });
          VmHost host = hosts[0]) {
        await().atMost(Duration.ofSeconds(20)).until(() -> vms.withName("ghost").get().getStatus() != null
            && vms.withName("ghost").get().getStatus().phase() == VMPhase.RUNNING);
        long pid = host.running().get(ObjectKey.of("default", "ghost"));

        // When the hypervisor reports the guest dead while its process lives on
        runner.state = "internal-error";

        // Then the machine is ended, the VM says why, and it is booted again (restartPolicy Always)
        await().atMost(Duration.ofSeconds(20)).untilAsserted(() -> {
          VM v = vms.withName("ghost").get();
          assertThat(v.getStatus().restartCount()).isEqualTo(1);
          assertThat(v.getStatus().phase()).isEqualTo(VMPhase.RUNNING);
        });
        assertThat(new RunningMachine(pid, null).alive()).as("QEMU has exited").isFalse();
        assertThat(metrics.counter("procurator.vm.failures", "reason", "Crashed").count()).isEqualTo(1.0);
        assertThat(runner.started).hasSize(2);
        vms.withName("ghost").delete();
        await().atMost(Duration.ofSeconds(20)).until(() -> vms.withName("ghost").get() == null);
        assertThat(host.running()).isEmpty();
      } finally {
        runner.started.forEach(pid -> ProcessHandle.of(pid).ifPresent(ProcessHandle::destroyForcibly));
      }
    }
  }
}
