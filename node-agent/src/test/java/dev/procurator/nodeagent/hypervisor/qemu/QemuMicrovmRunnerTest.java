package dev.procurator.nodeagent.hypervisor.qemu;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.procurator.nodeagent.hypervisor.LaunchPlan;
import dev.procurator.nodeagent.hypervisor.MachineSpec;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The guest's store on QEMU's command line: a read-only virtio-blk disk or a read-only 9p share, named last on the kernel's line. */
class QemuMicrovmRunnerTest {
  @TempDir Path tmp;
  private final QemuMicrovmRunner runner = new QemuMicrovmRunner("qemu-system-x86_64", "kvm", 2_000_000);
  private MachineSpec spec;

  @BeforeEach
  void files() throws Exception {
    Files.writeString(tmp.resolve("kernel"), "k");
    spec = new MachineSpec("default.a", 1, 128, tmp.resolve("kernel"), null, "init=/nix/store/x-system/init console=ttyS0",
        List.of(), tmp.resolve("vm"), null, null, List.of(new MachineSpec.Share("sec0", tmp.resolve("s"), "/run/secrets")));
  }

  private static String append(LaunchPlan plan) {
    return plan.command().get(plan.command().indexOf("-append") + 1);
  }

  @Test
  void anImageIsAReadOnlyDiskNamedLastOnTheCommandLine() throws Exception {
    Path image = Files.writeString(tmp.resolve("abc.erofs"), "");
    LaunchPlan plan = runner.plan(spec.withStore(MachineSpec.GuestStore.image(image)));
    assertThat(String.join(" ", plan.command())).contains(
        "-drive file=" + image + ",format=raw,if=none,readonly=on,id=store -device virtio-blk-device,drive=store");
    assertThat(append(plan)).isEqualTo(
        "init=/nix/store/x-system/init console=ttyS0 procurator.mount=sec0:/run/secrets procurator.store=/dev/vda procurator.storefs=erofs");
  }

  @Test
  void aFolderIsAReadOnlyShareNamedLastOnTheCommandLine() {
    LaunchPlan plan = runner.plan(spec.withStore(MachineSpec.GuestStore.folder(tmp.resolve("view"))));
    assertThat(String.join(" ", plan.command())).contains(
        "-fsdev local,id=store,path=" + tmp.resolve("view") + ",security_model=none,readonly=on -device virtio-9p-device,fsdev=store,mount_tag=store");
    assertThat(append(plan)).endsWith("procurator.mount=sec0:/run/secrets procurator.store=9p:store");
    assertThat(plan.command()).doesNotContain("virtio-blk-device,drive=store");
  }

  @Test
  void withoutAStoreTheGuestIsToldOfNone() {
    LaunchPlan plan = runner.plan(spec);
    assertThat(append(plan)).doesNotContain("procurator.store");
    assertThat(String.join(" ", plan.command())).doesNotContain("id=store");
  }

  @Test
  void aMissingImageIsRefusedBeforeAnythingStarts() {
    assertThatThrownBy(() -> runner.plan(spec.withStore(MachineSpec.GuestStore.image(tmp.resolve("gone.erofs")))))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("gone.erofs");
  }
}
