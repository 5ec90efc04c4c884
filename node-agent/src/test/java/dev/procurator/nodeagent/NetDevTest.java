package dev.procurator.nodeagent;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class NetDevTest {
  static final String TEXT = """
      Inter-|   Receive                                                |  Transmit
       face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed
          lo:    1200      12    0    0    0     0          0         0     1200      12    0    0    0     0       0          0
      pv0a1b2c3d4e5f:  5000  40    0    0    0     0          0         0   770000    500    0    0    0     0       0          0
      """;

  @Test
  void whatTheTapReceivedTheVmSent() {
    NetDev d = NetDev.parse(TEXT, "pv0a1b2c3d4e5f").orElseThrow();
    assertThat(d.vmSentBytes()).isEqualTo(5000);
    assertThat(d.vmReceivedBytes()).isEqualTo(770000);
  }

  @Test
  void aVmWithoutATapHasNone() {
    assertThat(NetDev.parse(TEXT, "pvffffffffffff")).isEmpty();
    assertThat(NetDev.of(ProcessHandle.current().pid(), "pvffffffffffff")).isEmpty();
  }
}
