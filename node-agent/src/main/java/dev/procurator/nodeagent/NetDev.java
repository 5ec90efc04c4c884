package dev.procurator.nodeagent;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;

/**
 * The bytes a VM's tap device carried, as its QEMU sees them ({@code /proc/PID/net/dev}, which is
 * the network namespace QEMU runs in, where its tap is). Seen from the VM: what the tap received
 * from the host side is what the guest sent.
 */
record NetDev(long vmReceivedBytes, long vmSentBytes) {
  /** The counters of {@code device} in {@code /proc/PID/net/dev}; empty when the process or the device is not there (user-mode networking). */
  static Optional<NetDev> of(long pid, String device) {
    try {
      return parse(Files.readString(Path.of("/proc", Long.toString(pid), "net", "dev")), device);
    } catch (IOException | RuntimeException e) {
      return Optional.empty();
    }
  }

  /** From the text of a {@code net/dev}: "  dev: rx_bytes rx_packets ... (8 receive fields) tx_bytes ...". */
  static Optional<NetDev> parse(String text, String device) {
    for (String line : text.split("\n")) {
      int colon = line.indexOf(':');
      if (colon < 0 || !line.substring(0, colon).trim().equals(device)) {
        continue;
      }
      String[] f = line.substring(colon + 1).trim().split("\\s+");
      if (f.length < 9) {
        return Optional.empty();
      }
      long tapReceived = Long.parseLong(f[0]);
      long tapSent = Long.parseLong(f[8]);
      return Optional.of(new NetDev(tapSent, tapReceived));
    }
    return Optional.empty();
  }
}
