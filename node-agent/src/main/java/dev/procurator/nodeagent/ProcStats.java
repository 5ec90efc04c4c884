package dev.procurator.nodeagent;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** CPU time and resident memory of one process, from {@code /proc}; zeros when it is gone. */
record ProcStats(double cpuSeconds, double rssBytes) {
  /** Clock ticks per second as Linux reports CPU times in {@code /proc/PID/stat} (USER_HZ). */
  private static final double TICKS = 100.0;

  static ProcStats of(long pid) {
    try {
      String stat = Files.readString(Path.of("/proc", Long.toString(pid), "stat"));
      // fields after the command name, which is in parentheses and may contain spaces
      String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
      double cpu = (Long.parseLong(f[11]) + Long.parseLong(f[12])) / TICKS;
      double rss = 0;
      for (String line : Files.readAllLines(Path.of("/proc", Long.toString(pid), "status"))) {
        if (line.startsWith("VmRSS:")) {
          rss = Long.parseLong(line.replaceAll("\\D", "")) * 1024.0;
        }
      }
      return new ProcStats(cpu, rss);
    } catch (IOException | RuntimeException e) {
      return new ProcStats(0, 0);
    }
  }
}
