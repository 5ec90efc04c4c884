package dev.procurator.nodeagent.hypervisor;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;

/** A hypervisor process that runs one VM. */
public record RunningMachine(long pid, LaunchPlan plan) {
  /**
   * Whether the hypervisor still runs. A process that has exited but is not reaped yet (a zombie)
   * is gone: a daemonized hypervisor is not our child, and whoever reaps it (init, a container's
   * first process) may take a second or more, which {@link ProcessHandle#isAlive} would count.
   */
  public boolean alive() {
    Path stat = Path.of("/proc", Long.toString(pid), "stat");
    try {
      String s = new String(Files.readAllBytes(stat), StandardCharsets.ISO_8859_1);
      int end = s.lastIndexOf(')'); // the command may hold spaces and parentheses
      char state = end >= 0 && end + 2 < s.length() ? s.charAt(end + 2) : '?';
      return state != 'Z' && state != 'X';
    } catch (NoSuchFileException e) {
      return false;
    } catch (IOException | UnsupportedOperationException e) {
      return ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false); // no procfs here
    }
  }
}
