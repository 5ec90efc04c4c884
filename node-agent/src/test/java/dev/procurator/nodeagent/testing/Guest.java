package dev.procurator.nodeagent.testing;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * The example guest (examples/guest/build.sh) for tests, built once per checkout into
 * node-agent/target/guest-images, and a way to end every machine a test left under a data dir.
 */
public final class Guest {
  private Guest() {}

  /** The repository root, found from the working directory of a module's tests. */
  public static Path repoRoot() {
    Path p = Path.of("").toAbsolutePath();
    while (p != null && !Files.exists(p.resolve("examples/guest/build.sh"))) {
      p = p.getParent();
    }
    if (p == null) {
      throw new IllegalStateException("examples/guest/build.sh not found above " + Path.of("").toAbsolutePath());
    }
    return p;
  }

  /** A directory holding {@code hello/vmlinux} and {@code hello/initrd.cpio.gz}, built on first use. */
  public static synchronized Path images() throws IOException, InterruptedException {
    Path root = repoRoot();
    Path images = root.resolve("node-agent/target/guest-images");
    Path hello = images.resolve("hello");
    Process p = new ProcessBuilder(root.resolve("examples/guest/build.sh").toString(), hello.toString())
        .redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    if (!p.waitFor(600, TimeUnit.SECONDS) || p.exitValue() != 0) {
      throw new IllegalStateException("building the example guest failed: " + out);
    }
    return images;
  }

  /** Kills (SIGKILL) every QEMU whose pidfile lies under {@code dir}: what a test must do before it ends. */
  public static void killMachines(Path dir) throws IOException {
    if (!Files.isDirectory(dir)) {
      return;
    }
    try (Stream<Path> files = Files.walk(dir)) {
      for (Path pidFile : files.filter(f -> f.getFileName().toString().equals("qemu.pid")).toList()) {
        try {
          long pid = Long.parseLong(Files.readString(pidFile).trim());
          ProcessHandle.of(pid).filter(h -> h.info().command().map(c -> c.contains("qemu")).orElse(false)).ifPresent(h -> {
            h.destroyForcibly();
            h.onExit().join();
          });
        } catch (IOException | NumberFormatException ignored) {
          // gone already
        }
      }
    }
  }
}
