package dev.procurator.pctl;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Builds the example guest (kernel and initramfs that examples/vm-*.yaml boot) into the agent's
 * images directory on first use, with the script in the repository pctl runs from
 * ({@code procurator.home}, set by bin/pctl). Elsewhere it does nothing.
 */
final class ExampleGuest {
  private ExampleGuest() {}

  static void ensure(Path images) throws IOException, InterruptedException {
    Path hello = images.resolve("hello");
    String home = System.getProperty("procurator.home");
    Path script = home == null ? null : Path.of(home, "examples", "guest", "build.sh");
    if (script == null || !Files.isExecutable(script)) {
      return;
    }
    // the script returns at once when the guest is built and current
    Process p = new ProcessBuilder(script.toString(), hello.toString()).redirectErrorStream(true).start();
    try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
      String line;
      while ((line = r.readLine()) != null) {
        System.out.println("  guest: " + line);
      }
    }
    if (p.waitFor() != 0) {
      throw new IOException("building the example guest failed (exit " + p.exitValue() + "); see the lines above");
    }
    if (!Files.isRegularFile(hello.resolve("vmlinux"))) {
      throw new IOException("the example guest build left no " + hello.resolve("vmlinux"));
    }
  }
}
