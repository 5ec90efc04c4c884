package dev.procurator.nodeagent.vm;

import static org.assertj.core.api.Assertions.assertThat;

import dev.procurator.api.runtime.ObjectKey;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SecretFilesTest {
  @TempDir Path root;

  private static byte[] b(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  private static String mode(Path p) throws Exception {
    return PosixFilePermissions.toString(Files.getPosixFilePermissions(p));
  }

  @Test
  void keysThatAreNoFileNamesAreLeftOutAndTheRestWrittenReadOnly() throws Exception {
    SecretFiles files = new SecretFiles(root);
    ObjectKey vm = ObjectKey.of("default", "web");
    // stored before the API refused them: "." and ".." would name the folder and its parent
    Map<String, byte[]> data = Map.of("password", b("s3cret"), "..", b("up"), ".", b("here"), "..data", b("x"), "API_KEY", b("k"));

    assertThat(files.write(vm, 0, data)).isTrue();

    Path dir = files.dir(vm, 0);
    try (Stream<Path> list = Files.list(dir)) {
      assertThat(list.map(p -> p.getFileName().toString()).toList()).containsExactlyInAnyOrder("password", "API_KEY", ".env");
    }
    assertThat(dir.resolve("password")).hasContent("s3cret");
    assertThat(mode(dir.resolve("password"))).isEqualTo("r--------");
    assertThat(mode(dir)).isEqualTo("rwx------");
    assertThat(mode(dir.getParent())).isEqualTo("rwx------");
    try (Stream<Path> list = Files.list(dir.getParent())) {
      assertThat(list.map(p -> p.getFileName().toString()).toList()).containsExactly("0");
    }
    assertThat(files.write(vm, 0, data)).as("nothing changed").isFalse();
  }

  @Test
  void thePrivateFolderIsMadeAsMkdtempMakesOneAndReusedOnlyWhileItIsStillPrivate() throws Exception {
    Path base = Files.createDirectory(root.resolve("shm"));
    Path record = root.resolve("data/secrets-folder");

    Path made = SecretFiles.inPrivateFolder(base, record).root();
    assertThat(made.getParent()).isEqualTo(base);
    assertThat(made.getFileName().toString()).startsWith("procurator-secrets-");
    assertThat(mode(made)).isEqualTo("rwx------");
    assertThat(SecretFiles.inPrivateFolder(base, record).root()).as("found again after a restart").isEqualTo(made);

    // opened up since: not trusted with values any more
    Files.setPosixFilePermissions(made, PosixFilePermissions.fromString("rwxrwxrwx"));
    Path remade = SecretFiles.inPrivateFolder(base, record).root();
    assertThat(remade).isNotEqualTo(made);
    assertThat(mode(remade)).isEqualTo("rwx------");

    // replaced by a link to somewhere else: not followed
    Path elsewhere = Files.createDirectory(root.resolve("elsewhere"));
    Files.setPosixFilePermissions(elsewhere, PosixFilePermissions.fromString("rwx------"));
    Files.delete(remade);
    Files.createSymbolicLink(remade, elsewhere);
    assertThat(SecretFiles.inPrivateFolder(base, record).root()).isNotIn(remade, elsewhere);
  }

  @Test
  void onlyTheFilesOfVmsThatKeepRunningOutliveTheAgent() throws Exception {
    SecretFiles files = SecretFiles.inPrivateFolder(Files.createDirectory(root.resolve("shm")), root.resolve("record"));
    files.write(ObjectKey.of("default", "gone"), 0, Map.of("k", b("v")));
    files.write(ObjectKey.of("other", "running"), 0, Map.of("k", b("v")));
    files.remove(ObjectKey.of("default", "gone"));

    files.removeEmptyFolders();
    assertThat(files.root().resolve("default")).doesNotExist();
    assertThat(files.dir(ObjectKey.of("other", "running"), 0).resolve("k")).hasContent("v");

    files.remove(ObjectKey.of("other", "running"));
    files.removeEmptyFolders();
    assertThat(files.root()).doesNotExist();
  }
}
