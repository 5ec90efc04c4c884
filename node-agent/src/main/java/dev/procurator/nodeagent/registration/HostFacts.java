package dev.procurator.nodeagent.registration;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** What this host offers: CPUs and memory as Kubernetes quantities. */
public record HostFacts(int cpus, long memoryBytes) {
  public static HostFacts read() {
    long mem = 0;
    try {
      for (String line : Files.readAllLines(Path.of("/proc/meminfo"))) {
        if (line.startsWith("MemTotal:")) {
          mem = Long.parseLong(line.replaceAll("\\D", "")) * 1024;
          break;
        }
      }
    } catch (IOException | NumberFormatException e) {
      mem = Runtime.getRuntime().maxMemory();
    }
    return new HostFacts(Runtime.getRuntime().availableProcessors(), mem);
  }

  public String memoryQuantity() {
    return (memoryBytes / (1024 * 1024)) + "Mi";
  }
}
