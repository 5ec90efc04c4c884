package dev.procurator.controllers.gitops;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.procurator.api.text.NixMessages;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * The manifests of a GitRepository with {@code source: Flake}: {@code nix eval --json
 * FLAKE#procurator.resources} at the commit, from the controller's own mirror of the remote. The
 * flake's {@code nixpkgs} input is overridden when the setting {@code procurator.nixpkgsOverride}
 * (system property) or {@code PROCURATOR_NIXPKGS_OVERRIDE} (environment) names a path: hosts
 * that cannot fetch nixpkgs point it at a copy of nixpkgs' lib.
 */
final class FlakeResources {
  private FlakeResources() {}

  private static final ObjectMapper JSON = new ObjectMapper();
  static final String ATTRIBUTE = "procurator.resources";
  static final Duration TIMEOUT = Duration.ofMinutes(5);

  /** Evaluation failed: nix's message. */
  static final class EvalException extends Exception {
    EvalException(String message) {
      super(message);
    }
  }

  /** The flake reference of {@code commit} in the mirror {@code repo} (pinned there by {@link GitSource#pin}), in folder {@code path}. */
  static String flakeRef(Path repo, String commit, String path) {
    String dir = path == null || path.isBlank() || path.equals(".") ? "" : "&dir=" + path.replaceAll("^\\./|/$", "");
    return "git+file://" + repo.toAbsolutePath() + "?ref=" + GitSource.PIN_REF + "&rev=" + commit + dir;
  }

  /** The resources as one JSON {@code List} document, or nix's error. */
  static byte[] eval(Path repo, String commit, String path, Path cacheDir) throws EvalException, IOException, InterruptedException {
    List<String> cmd = new ArrayList<>(List.of("nix", "--extra-experimental-features", "nix-command flakes", "eval", "--json",
        "--no-write-lock-file", flakeRef(repo, commit, path) + "#" + ATTRIBUTE));
    String override = System.getProperty("procurator.nixpkgsOverride", System.getenv("PROCURATOR_NIXPKGS_OVERRIDE"));
    if (override != null && !override.isBlank()) {
      cmd.addAll(List.of("--override-input", "nixpkgs", "path:" + Path.of(override).toAbsolutePath()));
    }
    Files.createDirectories(cacheDir);
    Path out = Files.createTempFile(cacheDir, "eval", ".json");
    Path err = Files.createTempFile(cacheDir, "eval", ".err");
    try {
      ProcessBuilder pb = new ProcessBuilder(cmd).redirectOutput(out.toFile()).redirectError(err.toFile())
          .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")));
      pb.environment().put("XDG_CACHE_HOME", cacheDir.resolve("xdg").toString());
      Process p = pb.start();
      if (!p.waitFor(TIMEOUT.toSeconds(), TimeUnit.SECONDS)) {
        p.descendants().forEach(ProcessHandle::destroyForcibly);
        p.destroyForcibly();
        throw new EvalException("nix eval of " + ATTRIBUTE + " took longer than " + TIMEOUT.toMinutes() + " minutes");
      }
      if (p.exitValue() != 0) {
        throw new EvalException("evaluating " + ATTRIBUTE + ": " + NixMessages.errorLines(Files.readString(err, StandardCharsets.UTF_8)));
      }
      JsonNode resources = JSON.readTree(out.toFile());
      if (!resources.isArray()) {
        throw new EvalException(ATTRIBUTE + " must be a list of resources, not " + resources.getNodeType().name().toLowerCase(java.util.Locale.ROOT));
      }
      ObjectNode list = JSON.createObjectNode().put("apiVersion", "v1").put("kind", "List");
      list.set("items", resources);
      return JSON.writeValueAsBytes(list);
    } finally {
      Files.deleteIfExists(out);
      Files.deleteIfExists(err);
    }
  }
}
