package dev.procurator.nodeagent.vm;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ConsoleLogTest {
  @Test
  void capMovesTheCurrentFileAsideAndAppendsContinueFromTheStart(@TempDir Path dir) throws Exception {
    ConsoleLog log = new ConsoleLog(dir.resolve("serial.log"), dir.resolve("serial.log.1"));
    Files.writeString(log.current(), "boot\r\nPROCURATOR-READY\r\n" + "x".repeat(100) + "\n");

    assertThat(log.capAt(1000)).isFalse();
    assertThat(log.capAt(50)).isTrue();
    assertThat(Files.size(log.current())).isZero();
    // the previous file keeps the last cap's worth of the console, never more
    assertThat(Files.readString(log.previous())).isEqualTo("x".repeat(49) + "\n");
    Files.writeString(log.current(), "after the cut\n", StandardOpenOption.APPEND);

    assertThat(log.lastLines(2)).containsExactly("x".repeat(49), "after the cut");
    assertThat(log.capAt(1000)).isFalse();
    assertThat(log.capAt(5)).isTrue();
    assertThat(Files.readString(log.previous())).isEqualTo(" cut\n");
  }

  @Test
  void readsOnlyTheEndOfALargeConsole(@TempDir Path dir) throws Exception {
    ConsoleLog log = new ConsoleLog(dir.resolve("serial.log"), dir.resolve("serial.log.1"));
    Files.writeString(log.current(), ("y".repeat(99) + "\n").repeat(10_000) + "last words\n" + ConsoleLog.POWER_DOWN_LINE + "\n");
    assertThat(log.lastLines(2)).containsExactly("last words", ConsoleLog.POWER_DOWN_LINE);
    // a cut in the middle of the file never shows a partial line
    assertThat(log.lastLines(100_000)).allSatisfy(l -> assertThat(l).isIn("y".repeat(99), "last words", ConsoleLog.POWER_DOWN_LINE))
        .hasSizeLessThan(ConsoleLog.TAIL_BYTES / 100 + 3);
    assertThat(log.poweredOff()).isTrue();
  }

  @Test
  void noFilesMeanNoLines(@TempDir Path dir) throws Exception {
    ConsoleLog log = new ConsoleLog(dir.resolve("serial.log"), dir.resolve("serial.log.1"));
    assertThat(log.lastLines(5)).isEmpty();
    assertThat(log.poweredOff()).isFalse();
    assertThat(log.capAt(1)).isFalse();
  }
}
