package dev.procurator.controllers.gitops;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

class FlakeInputsTest {
  private static byte[] lock(String name, String locked) {
    return FlakeSourceIT.lock(name, locked).getBytes(StandardCharsets.UTF_8);
  }

  private static final Map<String, FlakeInputs.Declared> D = Map.of("d", new FlakeInputs.Declared("x", false));

  @Test
  void everyDeclaredInputMustBeLockedUnlessItFollowsOrIsOverridden() throws Exception {
    assertThat(FlakeInputs.refusal(null, Map.of(), Set.of(), false)).isNull();
    assertThat(FlakeInputs.refusal(null, Map.of("d", new FlakeInputs.Declared("http://example.org/d.tar.gz", false)), Set.of(), true))
        .contains("flake input 'd' (http://example.org/d.tar.gz) is not locked");
    assertThat(FlakeInputs.refusal(null, Map.of("d", new FlakeInputs.Declared(null, true)), Set.of(), false)).isNull();
    assertThat(FlakeInputs.refusal(null, Map.of("nixpkgs", new FlakeInputs.Declared("github:NixOS/nixpkgs", false)), Set.of("nixpkgs"), false))
        .isNull();
  }

  @Test
  void lockedUrlsFollowTheRulesOfGitRepositoryUrls() throws Exception {
    String loopback = "{\"type\": \"tarball\", \"url\": \"http://127.0.0.1:9/x.tar.gz\", \"narHash\": \"sha256-x\"}";
    assertThat(FlakeInputs.refusal(lock("d", loopback), D, Set.of(), false))
        .contains("flake input 'd' http://127.0.0.1:9/x.tar.gz", "loopback", "--allow-private-git-urls");
    assertThat(FlakeInputs.refusal(lock("d", loopback), D, Set.of(), true)).isNull();
    assertThat(FlakeInputs.refusal(lock("d", "{\"type\": \"git\", \"url\": \"file:///srv/git/x\"}"), D, Set.of(), false)).contains("file://");
    assertThat(FlakeInputs.refusal(lock("d", "{\"type\": \"git\", \"url\": \"http://10.1.2.3/x.git\"}"), D, Set.of(), false)).contains("10.1.2.3");
    assertThat(FlakeInputs.refusal(lock("d", "{\"type\": \"path\", \"path\": \"/var/lib/x\"}"), D, Set.of(), false)).contains("path:/var/lib/x");
    assertThat(FlakeInputs.refusal(lock("d", "{\"type\": \"github\", \"owner\": \"o\", \"repo\": \"r\"}"), D, Set.of(), false)).isNull();
    assertThat(FlakeInputs.refusal(lock("d", "{\"type\": \"gitlab\", \"owner\": \"o\", \"repo\": \"r\", \"host\": \"127.0.0.1\"}"), D, Set.of(),
        false)).contains("127.0.0.1");
    assertThat(FlakeInputs.refusal(lock("d", "{\"type\": \"tarball\", \"url\": \"https://93.184.215.14/x.tar.gz\"}"), D, Set.of(), false)).isNull();
    // an overridden input's lock entry is never fetched
    assertThat(FlakeInputs.refusal(lock("d", loopback), D, Set.of("d"), false)).isNull();
  }
}
