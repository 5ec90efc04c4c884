package dev.procurator.nodeagent.hypervisor;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;

class RunningMachineTest {
  @Test
  void anExitedProcessNobodyHasReapedYetIsNotAlive() throws Exception {
    // the shell starts a short child, then becomes a long sleep that never waits for it: the child
    // (ending after the exec, so the shell cannot reap it first) stays a zombie until the sleep
    // ends, as a daemonized hypervisor stays one until init reaps it
    Process parent = new ProcessBuilder("sh", "-c", "sleep 0.5 & echo $!; exec sleep 60").start();
    try {
      long zombie;
      try (BufferedReader out = new BufferedReader(new InputStreamReader(parent.getInputStream(), StandardCharsets.US_ASCII))) {
        zombie = Long.parseLong(out.readLine().trim());
        RunningMachine exited = new RunningMachine(zombie, null);
        await().atMost(Duration.ofSeconds(10)).until(() -> stateOf(zombie) == 'Z');
        assertThat(ProcessHandle.of(zombie)).as("the kernel still has the process").isPresent();
        assertThat(exited.alive()).isFalse();
        assertThat(new RunningMachine(parent.pid(), null).alive()).isTrue();
      }
    } finally {
      parent.destroyForcibly().waitFor();
    }
  }

  @Test
  void aProcessThatIsGoneIsNotAlive() throws Exception {
    Process p = new ProcessBuilder("true").start();
    p.waitFor();
    assertThat(new RunningMachine(p.pid(), null).alive()).isFalse();
  }

  private static char stateOf(long pid) throws Exception {
    Path stat = Path.of("/proc/" + pid + "/stat");
    if (!Files.exists(stat)) {
      return '-'; // reaped after all: the condition fails with the state it saw
    }
    String s = Files.readString(stat, StandardCharsets.ISO_8859_1);
    return s.charAt(s.lastIndexOf(')') + 2);
  }
}
