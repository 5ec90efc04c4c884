package dev.procurator.pctl;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;

/** Runs the nix client with a test's own configuration and narinfo cache. */
final class NixCli {
  private NixCli() {}

  static PctlIT.Run run(Path conf, Path dir, Duration timeout, String... cmd) throws Exception {
    ProcessBuilder pb = new ProcessBuilder(cmd);
    pb.environment().put("NIX_CONF_DIR", conf.toString());
    pb.environment().put("XDG_CACHE_HOME", dir.resolve("xdg").toString());
    Process p = pb.start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    String err = new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(p.waitFor(timeout.toSeconds(), TimeUnit.SECONDS)).isTrue();
    return new PctlIT.Run(p.exitValue(), out, err);
  }
}
