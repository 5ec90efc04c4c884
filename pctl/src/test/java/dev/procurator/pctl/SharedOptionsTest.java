package dev.procurator.pctl;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

/** The options several server commands share are declared once, and each command reads them as before. */
class SharedOptionsTest {
  @Test
  void theBuildOptionsReachUpAndAgentWithTheirDefaults() {
    UpCommand up = new UpCommand();
    new CommandLine(up).parseArgs("--build-nix-conf", "extra.conf", "--allow-unsandboxed-builds");
    assertThat(up.builds.buildNixConf).isEqualTo(Path.of("extra.conf"));
    assertThat(up.builds.allowUnsandboxedBuilds).isTrue();

    AgentCommand agent = new AgentCommand();
    new CommandLine(agent).parseArgs("--data-dir", "d");
    assertThat(agent.builds.buildNixConf).isNull();
    assertThat(agent.builds.allowUnsandboxedBuilds).isFalse();
  }

  @Test
  void theNodeGracePeriodReachesUpAndControllersWithItsDefault() {
    UpCommand up = new UpCommand();
    new CommandLine(up).parseArgs("--node-grace-period", "7");
    assertThat(up.gracePeriod.graceSeconds).isEqualTo(7);

    ControllersCommand controllers = new ControllersCommand();
    new CommandLine(controllers).parseArgs();
    assertThat(controllers.gracePeriod.graceSeconds).isEqualTo(40);
  }

  @Test
  void eachSharedOptionKeepsItsHelpText() {
    CommandLine pctl = new CommandLine(new Pctl());
    for (String command : new String[] {"up", "agent"}) {
      var spec = pctl.getSubcommands().get(command).getCommandSpec();
      assertThat(spec.findOption("--build-nix-conf").description()).as(command)
          .containsExactly("A file of nix.conf settings added to each build's (a store of its own, substituters).");
      assertThat(spec.findOption("--allow-unsandboxed-builds").description()).as(command).containsExactly(
          "Build even where nix cannot sandbox (no nixbld build users): as root, within reach of this host's data and tokens.");
    }
    for (String command : new String[] {"up", "controllers"}) {
      var option = pctl.getSubcommands().get(command).getCommandSpec().findOption("--node-grace-period");
      assertThat(option.defaultValue()).as(command).isEqualTo("40");
      assertThat(option.paramLabel()).as(command).isEqualTo("<graceSeconds>");
    }
  }
}
