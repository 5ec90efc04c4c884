package dev.procurator.nodeagent.vm;

import static org.assertj.core.api.Assertions.assertThat;

import dev.procurator.api.v1alpha1.HealthCheckType;
import dev.procurator.api.v1alpha1.Hypervisor;
import dev.procurator.api.v1alpha1.NetworkMode;
import dev.procurator.api.v1alpha1.VMSpec;
import dev.procurator.nodeagent.guest.GuestAgentClient;
import dev.procurator.nodeagent.guest.GuestAgentProtocol;
import java.nio.file.Path;
import org.junit.jupiter.api.io.TempDir;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class HealthProbeTest {
  @Test
  void aTimeoutIsCappedByThePeriodAndByTheMaximum() {
    assertThat(HealthProbe.timeout(check(null, null))).isEqualTo(Duration.ofSeconds(1));
    assertThat(HealthProbe.timeout(check(2, 10))).isEqualTo(Duration.ofSeconds(2));
    assertThat(HealthProbe.timeout(check(60, 5))).isEqualTo(Duration.ofSeconds(5));
    assertThat(HealthProbe.timeout(check(3600, 3600))).isEqualTo(HealthProbe.MAX_TIMEOUT);
  }

  @Test
  void aGuestThatAcceptsAndNeverAnswersFailsTheCheckWithinItsTimeout() throws Exception {
    List<Socket> held = new ArrayList<>();
    try (ServerSocket silent = new ServerSocket(0, 50, InetAddress.getLoopbackAddress())) {
      Thread acceptor = Thread.ofVirtual().start(() -> {
        try {
          while (true) {
            held.add(silent.accept()); // accepted, never read, never answered
          }
        } catch (Exception closed) {
          // the test is over
        }
      });
      VMSpec.HealthCheck slow = new VMSpec.HealthCheck(HealthCheckType.HTTP, 8080, "/healthz", null, 1, 30, 3);
      long t0 = System.nanoTime();
      HealthProbe.Outcome o = new HealthProbe().probe(slow, silent.getLocalPort());
      Duration took = Duration.ofNanos(System.nanoTime() - t0);
      assertThat(o.passed()).isFalse();
      assertThat(o.detail()).contains("no answer within 1000 ms");
      assertThat(took).isLessThan(Duration.ofSeconds(3));
      acceptor.interrupt();
    } finally {
      for (Socket s : held) {
        s.close();
      }
    }
  }

  @Test
  void anExecCheckPassesOnExitZeroAndOtherwiseShowsTheTailOfItsOutput() {
    VMSpec.HealthCheck exec = new VMSpec.HealthCheck(HealthCheckType.EXEC, null, null, List.of("test", "-f", "/www/healthz"), 5, 2, 3);
    assertThat(HealthProbe.outcome(exec, new GuestAgentProtocol.Reply(1, 0, ""), Duration.ofSeconds(2)))
        .isEqualTo(new HealthProbe.Outcome(true, "exec test -f /www/healthz: exit 0"));
    assertThat(HealthProbe.outcome(exec, new GuestAgentProtocol.Reply(1, 1, "  no such file\n"), Duration.ofSeconds(2)))
        .isEqualTo(new HealthProbe.Outcome(false, "exec test -f /www/healthz: exit 1: no such file"));
    assertThat(HealthProbe.outcome(exec, new GuestAgentProtocol.Reply(1, 143, "Terminated"), Duration.ofSeconds(2)).detail())
        .isEqualTo("exec test -f /www/healthz: exit 143 (ended: it ran longer than its 2 s): Terminated");
    String lots = "x".repeat(1000) + "the end";
    assertThat(HealthProbe.outcome(exec, new GuestAgentProtocol.Reply(1, 2, lots), Duration.ofSeconds(2)).detail())
        .endsWith("the end").hasSizeLessThan(HealthProbe.OUTPUT_TAIL + 60);
  }

  @Test
  void eachCheckReachesItsGuestTheWayItsLaunchAllows(@TempDir Path dir) {
    VMSpec.HealthCheck http = new VMSpec.HealthCheck(HealthCheckType.HTTP, 8080, "/healthz", null, 5, 2, 3);
    VMSpec.HealthCheck exec = new VMSpec.HealthCheck(HealthCheckType.EXEC, null, null, List.of("true"), 5, 2, 3);
    VMSpec.Boot boot = new VMSpec.Boot(null, "hello/vmlinux", "hello/initrd.cpio.gz", "console=ttyS0");
    Launch user = new Launch(Hypervisor.QEMU, 1, "128Mi", boot, new VMSpec.Network(null, null), List.of(8080),
        List.of(new VMSpec.PortForward(8080, 40001)));
    Launch tap = new Launch(Hypervisor.QEMU, 1, "128Mi", boot, new VMSpec.Network(NetworkMode.TAP, null), List.of(8080), List.of());
    GuestAgentClient agent = new GuestAgentClient(dir.resolve("guest-agent.sock"));
    Path socket = dir.resolve("guest-agent.sock");

    assertThat(HealthMonitor.target(http, new HealthMonitor.Reach(user, socket, null), agent))
        .isEqualTo(new HealthProbe.Target.Forwarded(40001));
    assertThat(HealthMonitor.target(exec, new HealthMonitor.Reach(user, socket, null), agent)).isEqualTo(new HealthProbe.Target.Agent(agent));
    assertThat(HealthMonitor.target(exec, new HealthMonitor.Reach(user, null, null), null))
        .isInstanceOfSatisfying(HealthProbe.Target.Unreachable.class, u -> assertThat(u.why()).contains("no channel"));
    assertThat(HealthMonitor.target(http, new HealthMonitor.Reach(tap.withGuestAddress("10.77.0.10"), socket, "ns1"), agent))
        .isEqualTo(new HealthProbe.Target.Direct("10.77.0.10", "ns1"));
    assertThat(HealthMonitor.target(exec, new HealthMonitor.Reach(tap, socket, "ns1"), agent)).isEqualTo(new HealthProbe.Target.Agent(agent));
    assertThat(HealthMonitor.target(http, new HealthMonitor.Reach(tap, socket, "ns1"), agent))
        .isInstanceOfSatisfying(HealthProbe.Target.Unreachable.class, u -> assertThat(u.why())
            .contains("does not know the guest's address on the bridge", "procurator.ip=ADDR/PREFIX"));
    assertThat(HealthMonitor.target(new VMSpec.HealthCheck(HealthCheckType.TCP, 22, null, null, 5, 2, 3),
        new HealthMonitor.Reach(user, socket, null), agent)).isEqualTo(new HealthProbe.Target.Unreachable("port 22 is not forwarded"));
  }

  @Test
  void aTcpCheckOnTheGuestsOwnAddressPassesOnAConnectionAndFailsOnARefusal() throws Exception {
    VMSpec.HealthCheck tcp;
    try (ServerSocket listener = new ServerSocket(0, 50, InetAddress.getLoopbackAddress())) {
      tcp = new VMSpec.HealthCheck(HealthCheckType.TCP, listener.getLocalPort(), null, null, 5, 2, 3);
      // a listener that says nothing is one (no user-mode networking here to accept for it)
      assertThat(new HealthProbe().probe(tcp, new HealthProbe.Target.Direct("127.0.0.1", null)).passed()).isTrue();
    }
    HealthProbe.Outcome refused = new HealthProbe().probe(tcp, new HealthProbe.Target.Direct("127.0.0.1", null));
    assertThat(refused.passed()).isFalse();
    assertThat(refused.detail()).startsWith("tcp port " + tcp.port() + ": ");
  }

  private static VMSpec.HealthCheck check(Integer timeout, Integer period) {
    return new VMSpec.HealthCheck(HealthCheckType.TCP, 8080, null, null, period, timeout, 3);
  }
}
