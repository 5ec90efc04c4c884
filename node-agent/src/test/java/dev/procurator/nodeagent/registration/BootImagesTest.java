package dev.procurator.nodeagent.registration;

import static org.assertj.core.api.Assertions.assertThat;

import dev.procurator.api.v1alpha1.NodeStatus;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class BootImagesTest {
  @TempDir Path dir;

  @Test
  void reportsEachFileByItsRelativeAndAbsolutePathWithItsSize() throws Exception {
    Files.createDirectories(dir.resolve("hello"));
    Files.write(dir.resolve("hello/vmlinux"), new byte[12]);
    Files.write(dir.resolve("hello/initrd.cpio.gz"), new byte[3]);
    List<NodeStatus.Image> images = BootImages.scan(dir);
    assertThat(images).containsExactly(
        new NodeStatus.Image(List.of("hello/initrd.cpio.gz", dir.toAbsolutePath().resolve("hello/initrd.cpio.gz").toString()), 3L),
        new NodeStatus.Image(List.of("hello/vmlinux", dir.toAbsolutePath().resolve("hello/vmlinux").toString()), 12L));
  }

  @Test
  void aMissingDirectoryHasNoImages() {
    assertThat(BootImages.scan(dir.resolve("none"))).isEmpty();
  }
}
