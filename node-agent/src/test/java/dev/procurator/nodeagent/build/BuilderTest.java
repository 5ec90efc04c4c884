package dev.procurator.nodeagent.build;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class BuilderTest {
  static final List<Path> PRIVATE = List.of(Path.of("/var/lib/procurator"), Path.of("/var/lib/procurator/agent/builds"));

  @Test
  void aLocalFlakeIsItsFolderAndARemoteOneHasNone() {
    assertThat(Builder.localFlake("path:/src/web", PRIVATE)).isEqualTo(Path.of("/src/web"));
    assertThat(Builder.localFlake("git+file:///srv/git/web.git?ref=main&rev=" + "a".repeat(40), PRIVATE)).isEqualTo(Path.of("/srv/git/web.git"));
    assertThat(Builder.localFlake("git+https://git.example.com/web?rev=" + "a".repeat(40), PRIVATE)).isNull();
    assertThat(Builder.localFlake("github:owner/repo", PRIVATE)).isNull();
  }

  @Test
  void aLocalFlakeInOrAroundTheAgentsDataIsRefused() {
    for (String f : List.of("path:/var/lib/procurator", "path:/var/lib/procurator/agent", "path:/var/lib", "path:/", "git+file:///var/lib/procurator/x.git",
        "path:/var/lib/procurator/../procurator/pki")) {
      assertThatThrownBy(() -> Builder.localFlake(f, PRIVATE)).as(f).isInstanceOf(IllegalArgumentException.class)
          .hasMessageContaining("private data");
    }
  }

  @Test
  void theFoldersTheNodesSettingsNameAreShownButNoSystemFolder(@TempDir Path dir) throws Exception {
    Path store = java.nio.file.Files.createDirectories(dir.resolve("builder-store"));
    assertThat(BuildRun.namedFolders("store = " + store + "\nsandbox-paths = /bin /usr /lib /lib64\nsubstituters = http://10.0.0.9:7444\n"))
        .containsExactly(store);
    assertThat(BuildRun.namedFolders("store = local?root=" + store)).containsExactly(store);
    assertThat(BuildRun.namedFolders(null)).isEmpty();
  }
}
