package dev.procurator.pctl;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

class FlakeEvalOptionsTest {
  private static ControllersCommand parse(String... args) {
    ControllersCommand c = new ControllersCommand();
    new CommandLine(c).parseArgs(args);
    return c;
  }

  @Test
  void theLimitsDefaultToFiveMinutesAndFourGibibytes() {
    var limits = parse().flakeEval.limits();
    assertThat(limits.timeout()).isEqualTo(Duration.ofMinutes(5));
    assertThat(limits.memoryBytes()).isEqualTo(4L << 30);
  }

  @Test
  void theFlagsSetThem() {
    var limits = parse("--flake-eval-timeout", "90s", "--flake-eval-memory", "512M").flakeEval.limits();
    assertThat(limits.timeout()).isEqualTo(Duration.ofSeconds(90));
    assertThat(limits.memoryBytes()).isEqualTo(512L << 20);
    assertThat(parse("--flake-eval-memory", "0").flakeEval.limits().memoryBytes()).isZero();
    UpCommand up = new UpCommand();
    new CommandLine(up).parseArgs("--flake-eval-timeout", "1m", "--flake-eval-memory", "1G");
    assertThat(up.flakeEval.limits().timeout()).isEqualTo(Duration.ofMinutes(1));
  }

  @Test
  void aBadValueIsAUsageErrorNamingTheOption() {
    assertThatThrownBy(() -> parse("--flake-eval-timeout", "0s")).isInstanceOf(CommandLine.ParameterException.class)
        .hasMessageContaining("--flake-eval-timeout").hasMessageContaining("positive duration");
    assertThatThrownBy(() -> parse("--flake-eval-timeout", "soon")).isInstanceOf(CommandLine.ParameterException.class)
        .hasMessageContaining("--flake-eval-timeout").hasMessageContaining("not a duration");
    assertThatThrownBy(() -> parse("--flake-eval-memory", "lots")).isInstanceOf(CommandLine.ParameterException.class)
        .hasMessageContaining("--flake-eval-memory").hasMessageContaining("not a size");
    assertThatThrownBy(() -> parse("--flake-eval-memory", "1K")).isInstanceOf(CommandLine.ParameterException.class)
        .hasMessageContaining("--flake-eval-memory").hasMessageContaining("at least 64M");
  }
}
