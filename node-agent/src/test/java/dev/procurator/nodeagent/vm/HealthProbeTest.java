package dev.procurator.nodeagent.vm;

import static org.assertj.core.api.Assertions.assertThat;

import dev.procurator.api.v1alpha1.HealthCheckType;
import dev.procurator.api.v1alpha1.VMSpec;
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

  private static VMSpec.HealthCheck check(Integer timeout, Integer period) {
    return new VMSpec.HealthCheck(HealthCheckType.TCP, 8080, null, null, period, timeout, 3);
  }
}
