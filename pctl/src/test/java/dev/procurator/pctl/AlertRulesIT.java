package dev.procurator.pctl;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The alert rules the repository ships (observability/alerts.yml) are valid Prometheus rules and do
 * what their tests (alerts_test.yml) say, by Debian's promtool; and pctl's jar carries the same rules.
 */
class AlertRulesIT {
  @TempDir Path tmp;

  private static String promtool(Path dir, String... args) throws Exception {
    List<String> cmd = new java.util.ArrayList<>(List.of("promtool"));
    cmd.addAll(List.of(args));
    Process p = new ProcessBuilder(cmd).directory(dir.toFile()).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
    assertThat(p.exitValue()).as("promtool %s:%n%s", String.join(" ", args), out).isZero();
    return out;
  }

  @Test
  void theShippedRulesPassCheckAndTheirUnitTests() throws Exception {
    Path dir = dev.procurator.nodeagent.testing.Guest.repoRoot().resolve("observability");
    assertThat(promtool(dir, "check", "rules", "alerts.yml")).contains("SUCCESS: 9 rules found");
    assertThat(promtool(dir, "test", "rules", "alerts_test.yml")).contains("SUCCESS");
    assertThat(Monitoring.alertRules()).isEqualTo(Files.readAllBytes(dir.resolve("alerts.yml")));
  }

  /** The rules' tests are real: a rule that no longer fires as tested fails them. */
  @Test
  void aBrokenRuleFailsItsTests() throws Exception {
    Path dir = dev.procurator.nodeagent.testing.Guest.repoRoot().resolve("observability");
    Files.copy(dir.resolve("alerts_test.yml"), tmp.resolve("alerts_test.yml"));
    Files.writeString(tmp.resolve("alerts.yml"), Files.readString(dir.resolve("alerts.yml"))
        .replace("increase(procurator_vm_status_restarts[10m]) >= 3", "increase(procurator_vm_status_restarts[10m]) >= 5"));
    Process p = new ProcessBuilder("promtool", "test", "rules", "alerts_test.yml").directory(tmp.toFile()).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
    assertThat(p.exitValue()).as(out).isNotZero();
    assertThat(out).contains("VMCrashLooping");
  }
}
