package dev.procurator.nodeagent.vm;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.procurator.api.v1alpha1.VMSpec;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Boot files resolve, with symlinks followed, under the images directory or the Nix store, and nowhere else. */
class BootResolverTest {
  @TempDir Path tmp;
  private Path images;
  private BootResolver resolver;

  @BeforeEach
  void layout() throws Exception {
    images = Files.createDirectories(tmp.resolve("images"));
    Files.createDirectories(images.resolve("hello"));
    Files.writeString(images.resolve("hello/vmlinux"), "kernel");
    Files.createDirectories(tmp.resolve("pki"));
    Files.writeString(tmp.resolve("pki/ca.key"), "secret");
    resolver = new BootResolver(images, null, Duration.ofMinutes(1));
  }

  private static VMSpec.Boot kernel(String path) {
    return new VMSpec.Boot(null, path, null, null);
  }

  @Test
  void aKernelUnderTheImagesDirectoryResolvesToItsRealPath() throws Exception {
    Files.createSymbolicLink(images.resolve("current"), images.resolve("hello/vmlinux"));
    assertThat(resolver.resolve(kernel("hello/vmlinux")).kernel()).isEqualTo(images.resolve("hello/vmlinux").toRealPath());
    assertThat(resolver.resolve(kernel("current")).kernel()).isEqualTo(images.resolve("hello/vmlinux").toRealPath());
  }

  @Test
  void aPathOutOfTheImagesDirectoryIsForbidden() {
    assertThatThrownBy(() -> resolver.resolve(kernel("../pki/ca.key")))
        .isInstanceOfSatisfying(BootResolver.MissingException.class, e -> {
          assertThat(e.reason()).isEqualTo(BootResolver.FORBIDDEN);
          assertThat(e.getMessage()).contains("outside the roots VMs may boot from");
        });
    assertThatThrownBy(() -> resolver.resolve(kernel("/etc/passwd")))
        .isInstanceOfSatisfying(BootResolver.MissingException.class, e -> assertThat(e.reason()).isEqualTo(BootResolver.FORBIDDEN));
    assertThat(resolver.check(kernel("/etc/passwd"))).isInstanceOfSatisfying(Observation.Boot.Missing.class,
        m -> assertThat(m.reason()).isEqualTo(BootResolver.FORBIDDEN));
  }

  @Test
  void aSymlinkInTheImagesDirectoryThatLeadsOutIsForbidden() throws Exception {
    Files.createSymbolicLink(images.resolve("innocent"), tmp.resolve("pki/ca.key"));
    assertThatThrownBy(() -> resolver.resolve(new VMSpec.Boot(null, "hello/vmlinux", "innocent", null)))
        .isInstanceOfSatisfying(BootResolver.MissingException.class, e -> {
          assertThat(e.reason()).isEqualTo(BootResolver.FORBIDDEN);
          assertThat(e.getMessage()).startsWith("initrd");
        });
  }

  @Test
  void aMissingFileIsMissingNotForbidden() {
    assertThatThrownBy(() -> resolver.resolve(kernel("nothing/here")))
        .isInstanceOfSatisfying(BootResolver.MissingException.class, e -> assertThat(e.reason()).isEqualTo(BootResolver.MISSING));
  }

  @Test
  void aClosuresCommandLineIsInitThenItsKernelParamsThenTheVmsOwn() throws Exception {
    Path closure = Files.createDirectories(tmp.resolve("system"));
    Files.writeString(closure.resolve("kernel-params"), "loglevel=4  lsm=landlock\n");
    assertThat(BootResolver.closureCmdline(closure, closure.resolve("init"), "console=ttyS0 loglevel=7"))
        .isEqualTo("init=" + closure.resolve("init") + " loglevel=4 lsm=landlock console=ttyS0 loglevel=7");
  }

  @Test
  void aClosureWithoutKernelParamsHasInitThenTheVmsOwn() throws Exception {
    Path closure = Files.createDirectories(tmp.resolve("system"));
    assertThat(BootResolver.closureCmdline(closure, closure.resolve("init"), "console=ttyS0"))
        .isEqualTo("init=" + closure.resolve("init") + " console=ttyS0");
  }
}
