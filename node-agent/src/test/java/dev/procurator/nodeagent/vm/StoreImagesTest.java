package dev.procurator.nodeagent.vm;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The store image cache's decisions, and the view of a closure a VM gets when there is no image. */
class StoreImagesTest {
  static final Instant NOW = Instant.parse("2026-12-07T12:00:00Z");
  static final Duration KEEP = Duration.ofHours(1);
  static final String CLOSURE = "/nix/store/0123456789abcdfghijklmnpqrsvwxyz-guest";

  @TempDir Path tmp;

  @Test
  void anImageWhoseClosureWasCollectedGoesEvenWhileAVmUsesIt() {
    assertThat(StoreImages.decide(true, false, NOW, NOW, KEEP)).isTrue();
    assertThat(StoreImages.decide(false, false, NOW, NOW, KEEP)).isTrue();
  }

  @Test
  void anImageAVmHereBootsStays() {
    assertThat(StoreImages.decide(true, true, NOW.minus(Duration.ofDays(30)), NOW, KEEP)).isFalse();
  }

  @Test
  void anUnusedImageStaysForTheKeepTimeAfterItsLastUseThenGoes() {
    assertThat(StoreImages.decide(false, true, NOW.minus(KEEP).plusSeconds(1), NOW, KEEP)).isFalse();
    assertThat(StoreImages.decide(false, true, NOW.minus(KEEP), NOW, KEEP)).isTrue();
  }

  @Test
  void imagesAreNamedByTheClosuresHash() {
    StoreImages images = new StoreImages(tmp, StoreImages.Settings.defaults(), Clock.systemUTC());
    assertThat(images.imageOf(CLOSURE)).isEqualTo(tmp.resolve("0123456789abcdfghijklmnpqrsvwxyz.erofs"));
  }

  @Test
  void anAgentThatBuildsNoImagesSharesEveryStoreAtOnce() {
    StoreImages images = new StoreImages(tmp, StoreImages.Settings.defaults().withoutImages(), Clock.systemUTC());
    assertThat(images.prepared(CLOSURE)).containsInstanceOf(StoreImages.Store.Unavailable.class);
    assertThat(images.prepare(CLOSURE)).isInstanceOf(StoreImages.Store.Unavailable.class);
  }

  @Test
  void aBuiltImageIsPreparedAndAMissingOneMustBeBuilt() throws Exception {
    StoreImages images = new StoreImages(tmp, StoreImages.Settings.defaults(), Clock.systemUTC());
    assertThat(images.prepared(CLOSURE)).isEmpty();
    Files.writeString(images.imageOf(CLOSURE), "erofs");
    assertThat(images.prepared(CLOSURE)).contains(new StoreImages.Store.Image(images.imageOf(CLOSURE)));
  }

  @Test
  void aViewHoldsOnlyTheGivenPathsWithFilesLinkedSymlinksKeptAndModesAsInTheStore() throws Exception {
    Path store = Files.createDirectories(tmp.resolve("store"));
    Path a = Files.createDirectories(store.resolve("aaaa-a/bin"));
    Files.writeString(a.resolve("run"), "#!/bin/sh\n");
    Files.createSymbolicLink(store.resolve("aaaa-a/lib"), Path.of("/nix/store/bbbb-b"));
    Files.writeString(store.resolve("bbbb-b"), "a file as a store path");
    Files.writeString(store.resolve("cccc-outside"), "not in the closure");
    Files.setPosixFilePermissions(a, PosixFilePermissions.fromString("r-xr-xr-x"));

    Path view = tmp.resolve("view");
    StoreImages.view(List.of(store.resolve("aaaa-a").toString(), store.resolve("bbbb-b").toString()), view);

    try (var list = Files.list(view)) {
      assertThat(list.map(p -> p.getFileName().toString())).containsExactlyInAnyOrder("aaaa-a", "bbbb-b");
    }
    assertThat(Files.isSameFile(view.resolve("aaaa-a/bin/run"), a.resolve("run"))).isTrue(); // a hard link, not a copy
    assertThat(Files.isSymbolicLink(view.resolve("aaaa-a/bin/run"))).isFalse();
    assertThat(Files.readSymbolicLink(view.resolve("aaaa-a/lib"))).isEqualTo(Path.of("/nix/store/bbbb-b"));
    assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(view.resolve("aaaa-a/bin")))).isEqualTo("r-xr-xr-x");

    StoreImages.delete(view);
    assertThat(view).doesNotExist();
    assertThat(a.resolve("run")).hasContent("#!/bin/sh\n");
  }
}
