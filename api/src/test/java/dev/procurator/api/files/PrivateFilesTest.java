package dev.procurator.api.files;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class PrivateFilesTest {
  @TempDir Path dir;

  private static String mode(Path p) throws Exception {
    return PosixFilePermissions.toString(Files.getPosixFilePermissions(p));
  }

  private long entries(Path d) throws Exception {
    try (Stream<Path> s = Files.list(d)) {
      return s.count();
    }
  }

  @Test
  void aWrittenFileIsTheOwnersOnlyAndReplacesAnOpenOneWithoutLeavingATempFile() throws Exception {
    Path token = dir.resolve("token");
    Files.writeString(token, "old\n", java.nio.charset.StandardCharsets.UTF_8);
    Files.setPosixFilePermissions(token, PosixFilePermissions.fromString("rw-r--r--"));

    PrivateFiles.write(token, "new\n");

    assertThat(token).hasContent("new");
    assertThat(mode(token)).isEqualTo("rw-------");
    assertThat(entries(dir)).isEqualTo(1);
  }

  @Test
  void missingParentsAreMadePrivateAndAReadOnlyFileCanBeReplaced() throws Exception {
    Path file = dir.resolve("a/b/value");
    PrivateFiles.write(file, new byte[] {1, 2}, PrivateFiles.OWNER_READ);
    PrivateFiles.write(file, new byte[] {3}, PrivateFiles.OWNER_READ);

    assertThat(Files.readAllBytes(file)).containsExactly(3);
    assertThat(mode(file)).isEqualTo("r--------");
    assertThat(mode(dir.resolve("a"))).isEqualTo("rwx------");
    assertThat(mode(dir.resolve("a/b"))).isEqualTo("rwx------");
  }

  @Test
  void anOpenDirectoryIsTightenedOnceAndAPrivateOneLeftAlone() throws Exception {
    Path data = dir.resolve("data");
    Files.createDirectory(data);
    Files.setPosixFilePermissions(data, PosixFilePermissions.fromString("rwxr-xr-x"));

    assertThat(PrivateFiles.privateDirectory(data)).isTrue();
    assertThat(mode(data)).isEqualTo("rwx------");
    assertThat(PrivateFiles.privateDirectory(data)).isFalse();

    Path fresh = dir.resolve("fresh/data");
    assertThat(PrivateFiles.privateDirectory(fresh)).isFalse();
    assertThat(mode(fresh)).isEqualTo("rwx------");
    assertThat(mode(fresh.getParent())).isEqualTo("rwx------");
  }

  @Test
  void createFileMakesAnEmptyPrivateFileAndKeepsAnExistingOne() throws Exception {
    Path db = dir.resolve("store.db");
    assertThat(PrivateFiles.createFile(db)).isTrue();
    assertThat(mode(db)).isEqualTo("rw-------");
    Files.writeString(db, "kept");
    assertThat(PrivateFiles.createFile(db)).isFalse();
    assertThat(db).hasContent("kept");
  }

  @Test
  void temporaryFoldersHaveRandomNamesAndAreTheOwnersOnly() throws Exception {
    Path a = PrivateFiles.createTempDirectory(dir, "secrets-");
    Path b = PrivateFiles.createTempDirectory(dir, "secrets-");

    assertThat(a).isNotEqualTo(b);
    assertThat(a.getFileName().toString()).startsWith("secrets-").hasSizeGreaterThan("secrets-".length() + 8);
    assertThat(mode(a)).isEqualTo("rwx------");
  }
}
