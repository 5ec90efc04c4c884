package dev.procurator.nodeagent.vm;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.procurator.api.runtime.ObjectKey;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ConsoleWatcherTest {
  static final ObjectKey KEY = ObjectKey.of("default", "web");

  @Test
  void theReadyLineWakesTheLoopAsItIsWritten(@TempDir Path dir) throws Exception {
    List<ObjectKey> woken = new CopyOnWriteArrayList<>();
    Path log = dir.resolve("serial.log");
    Files.writeString(log, "booting\n");
    try (ConsoleWatcher w = new ConsoleWatcher(1 << 20, woken::add)) {
      w.follow(KEY, log);
      assertThat(w.ready(KEY)).isFalse();
      // the line arrives in two writes, split in the middle
      Files.writeString(log, "PROCURATOR-", StandardOpenOption.APPEND);
      Files.writeString(log, "READY\n", StandardOpenOption.APPEND);
      await().atMost(Duration.ofSeconds(5)).until(() -> w.ready(KEY));
      assertThat(woken).containsExactly(KEY);

      // a new boot starts over
      w.reset(KEY);
      assertThat(w.ready(KEY)).isFalse();
    }
  }

  @Test
  void aConsoleFloodedFromItsFirstByteStaysUnderItsCap(@TempDir Path dir) throws Exception {
    long cap = 256 * 1024;
    Path log = dir.resolve("serial.log");
    Files.createFile(log);
    List<ObjectKey> woken = new CopyOnWriteArrayList<>();
    try (ConsoleWatcher w = new ConsoleWatcher(cap, woken::add)) {
      w.follow(KEY, log);
      // a guest that prints as fast as it can and never gets ready, as the hypervisor writes: appending
      Process flood = new ProcessBuilder("yes", "a guest that will not stop talking")
          .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile())).start();
      long largest = 0;
      long written = 0; // times the size was looked at
      try {
        long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(3);
        while (System.nanoTime() < until && largest < (1L << 30)) {
          largest = Math.max(largest, Files.size(log));
          written += 1;
          Thread.onSpinWait();
        }
      } finally {
        flood.destroyForcibly().waitFor();
      }
      await().atMost(Duration.ofSeconds(5)).untilAsserted(() -> assertThat(Files.size(log)).isLessThanOrEqualTo(cap));
      assertThat(Files.size(dir.resolve("serial.log.1"))).as("what the cap cut off").isGreaterThan(cap / 2);
      assertThat(w.ready(KEY)).isFalse();
      assertThat(woken).isEmpty();
      // `yes` writes several hundred MB/s, far beyond any emulated serial port; even so the file is
      // cut within a few tens of milliseconds each time and never grows without bound
      assertThat(largest).isLessThan(512L * cap);
      assertThat(written).isPositive();
    }
  }
}
