package dev.procurator.api.nix;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

class NixJailTest {
  @Test
  void theJailShowsWhatItIsGivenOnceAndTheEtcFilesLookupsNeed() {
    List<String> cmd = NixJail.command(Path.of("/w/root"), List.of(Path.of("/srv/repo.git"), Path.of("/w/conf")),
        List.of(Path.of("/w"), Path.of("/srv/repo.git/objects")), 512L << 20, List.of("nix", "eval", "x"));
    List<String> shown = cmd.subList(cmd.indexOf("/w/root") + 3, cmd.indexOf("--"));
    assertThat(shown).contains("ro:/etc/passwd", "ro:/etc/resolv.conf", "ro:/srv/repo.git", "rw:/w")
        .as("a path under a shown path is shown with it").doesNotContain("ro:/w/conf", "rw:/srv/repo.git/objects")
        .noneMatch(s -> s.contains("shadow") || s.contains("/root") || s.contains("/var"));
    assertThat(cmd.get(cmd.indexOf("/w/root") + 1)).as("the memory cap in KiB, for ulimit -v").isEqualTo("524288");
    assertThat(cmd.subList(cmd.indexOf("--") + 1, cmd.size())).endsWith("eval", "x");
    assertThat(cmd.get(cmd.indexOf("--") + 1)).as("nix by an absolute path: the jail's PATH is not the caller's").startsWith("/").endsWith("/nix");
  }

  @Test
  void theEnvironmentIsMadeFromScratch() {
    var env = NixJail.environment(Path.of("/w/home"), Path.of("/w/xdg"), Path.of("/w/conf"));
    assertThat(env).containsEntry("HOME", "/w/home").containsEntry("XDG_CACHE_HOME", "/w/xdg").containsEntry("NIX_CONF_DIR", "/w/conf")
        .containsEntry("NIX_USER_CONF_FILES", "/w/conf/nix.conf").containsKeys("PATH", "USER");
    assertThat(env.keySet()).allMatch(k -> List.of("PATH", "HOME", "XDG_CACHE_HOME", "NIX_CONF_DIR", "NIX_USER_CONF_FILES", "USER")
        .contains(k) || k.toLowerCase(java.util.Locale.ROOT).endsWith("_proxy"));
  }

  @Test
  void evaluationsRunPureWithoutImportFromDerivation() {
    assertThat(NixJail.EVAL_CONF.lines()).contains("pure-eval = true", "restrict-eval = true", "allow-import-from-derivation = false",
        "allowed-uris =", "flake-registry =", "accept-flake-config = false");
  }

  @Test
  void limitsAreChecked() {
    assertThatThrownBy(() -> new NixJail.Limits(Duration.ZERO, 1)).isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> new NixJail.Limits(Duration.ofSeconds(1), -1)).isInstanceOf(IllegalArgumentException.class);
    assertThat(new NixJail.Limits(Duration.ofSeconds(1), 512L << 20).describeMemory()).isEqualTo("512 MiB");
  }
}
