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
    assertThat(log.contains(ConsoleLog.READY_LINE)).isTrue();

    assertThat(log.capAt(1000)).isFalse();
    assertThat(log.capAt(50)).isTrue();
    assertThat(Files.size(log.current())).isZero();
    assertThat(Files.readString(log.previous())).contains("PROCURATOR-READY");
    Files.writeString(log.current(), "after the cut\n", StandardOpenOption.APPEND);

    assertThat(log.lastLines(2)).containsExactly("x".repeat(100), "after the cut");
    assertThat(log.lastLines(100)).startsWith("boot", "PROCURATOR-READY");
    // the current boot's file no longer holds the ready line
    assertThat(log.contains(ConsoleLog.READY_LINE)).isFalse();
  }

  @Test
  void noFilesMeanNoLines(@TempDir Path dir) throws Exception {
    ConsoleLog log = new ConsoleLog(dir.resolve("serial.log"), dir.resolve("serial.log.1"));
    assertThat(log.lastLines(5)).isEmpty();
    assertThat(log.contains(ConsoleLog.READY_LINE)).isFalse();
    assertThat(log.capAt(1)).isFalse();
  }
}
