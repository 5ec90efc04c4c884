package dev.procurator.pctl;

import dev.procurator.apiserver.testing.TestNames;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;

/** Flakes for Build tests: no inputs, one derivation that runs a shell script, unique so no store holds it yet. */
final class TestFlakes {
  private TestFlakes() {}

  /**
   * Writes {@code dir/flake.nix} whose {@code packages.x86_64-linux.ATTR} runs {@code script} with
   * {@code /bin/sh} (builtins only, so it builds with no nixpkgs); returns {@code dir}.
   */
  static Path oneDerivation(Path dir, String attr, String script) throws IOException {
    Files.createDirectories(dir);
    Files.writeString(dir.resolve("flake.nix"), String.format(Locale.ROOT, """
        {
          outputs = { self }: {
            packages.x86_64-linux.%s = derivation {
              name = "%s"; system = "x86_64-linux"; builder = "/bin/sh";
              args = [ "-c" "%s" ];
            };
          };
        }
        """, attr, TestNames.unique(attr), script));
    return dir;
  }
}
