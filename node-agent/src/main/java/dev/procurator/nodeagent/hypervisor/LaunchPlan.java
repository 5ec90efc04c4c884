package dev.procurator.nodeagent.hypervisor;

import java.nio.file.Path;
import java.util.List;

/** A command line and where its process keeps its pidfile, control socket and serial console log. */
public record LaunchPlan(List<String> command, Path workDir, Path pidFile, Path controlSocket, Path serialLog, String accelerator) {
  public LaunchPlan {
    command = List.copyOf(command);
  }

  /** Where the console of the previous boot, or what the size cap cut off the current one, is kept. */
  public Path previousSerialLog() {
    return serialLog.resolveSibling(serialLog.getFileName() + ".1");
  }
}
