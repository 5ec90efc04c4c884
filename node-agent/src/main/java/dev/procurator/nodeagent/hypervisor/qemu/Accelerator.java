package dev.procurator.nodeagent.hypervisor.qemu;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * KVM only where it really works: {@code /dev/kvm} alone is not enough (nested {@code kvm_pvm}
 * opens, then guests stop with an internal error), so the CPU must show vmx or svm and the host
 * must not be a kvm_pvm guest. Otherwise TCG.
 */
public final class Accelerator {
  private Accelerator() {}

  public static String detect() {
    return detect(Path.of("/dev/kvm"), Path.of("/sys/module/kvm_pvm"), Path.of("/proc/cpuinfo"));
  }

  static String detect(Path kvm, Path pvmModule, Path cpuinfo) {
    if (!Files.exists(kvm) || !Files.isReadable(kvm) || Files.exists(pvmModule)) {
      return "tcg";
    }
    try {
      String flags = Files.readString(cpuinfo);
      return flags.matches("(?s).*\\bflags\\s*:.*\\b(vmx|svm)\\b.*") ? "kvm" : "tcg";
    } catch (IOException e) {
      return "tcg";
    }
  }
}
