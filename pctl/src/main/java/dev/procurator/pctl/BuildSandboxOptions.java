package dev.procurator.pctl;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import picocli.CommandLine.Option;

/**
 * The build options a host that runs builds takes, on {@code pctl up} and {@code pctl agent} alike
 * (a picocli mixin): extra nix.conf settings for each build, and whether builds may run where nix
 * cannot sandbox them.
 */
final class BuildSandboxOptions {
  @Option(names = "--build-nix-conf",
      description = "A file of nix.conf settings added to each build's (a store of its own, substituters).")
  Path buildNixConf;

  @Option(names = "--allow-unsandboxed-builds",
      description = "Build even where nix cannot sandbox (no nixbld build users): as root, within reach of this host's data and tokens.")
  boolean allowUnsandboxedBuilds;

  /** The settings {@code --build-nix-conf} names, read now; null without one. */
  String extraNixConf() throws IOException {
    return buildNixConf == null ? null : Files.readString(buildNixConf);
  }
}
