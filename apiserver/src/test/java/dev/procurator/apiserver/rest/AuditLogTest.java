package dev.procurator.apiserver.rest;

import static org.assertj.core.api.Assertions.assertThat;

import dev.procurator.apiserver.ApiServerConfig;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** What the audit log does when its buffer is full, under each policy (no writer thread drains it here). */
class AuditLogTest {
  @TempDir Path dir;

  @Test
  void theDropPolicyDropsAndCountsWhatDoesNotFit() throws Exception {
    Path file = dir.resolve("audit.log");
    try (AuditLog log = new AuditLog(file, new ApiServerConfig.AuditPolicy(false, 1 << 20, 1, 2, true), Clock.systemUTC(), false)) {
      for (int i = 0; i < 5; i++) {
        log.record("{\"n\":" + i + "}");
      }
      assertThat(log.dropped()).isEqualTo(3);
      assertThat(Files.readString(file)).isEmpty();
    }
  }

  @Test
  void theBlockPolicyLosesNothing() throws Exception {
    Path file = dir.resolve("audit.log");
    try (AuditLog log = new AuditLog(file, new ApiServerConfig.AuditPolicy(false, 1 << 20, 1, 2, false), Clock.systemUTC(), false)) {
      for (int i = 0; i < 5; i++) {
        log.record("{\"n\":" + i + "}");
      }
      assertThat(log.dropped()).isZero();
      // two wait in the buffer; the three that did not fit were written by their requests
      assertThat(Files.readAllLines(file)).containsExactly("{\"n\":2}", "{\"n\":3}", "{\"n\":4}");
    }
  }
}
