package dev.procurator.nodeagent.hypervisor;

/** A hypervisor process that runs one VM. */
public record RunningMachine(long pid, LaunchPlan plan) {
  public boolean alive() {
    return ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false);
  }
}
