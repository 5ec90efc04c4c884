package dev.procurator.controllers.gitops;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.procurator.api.nix.NixJail;
import dev.procurator.api.text.NixMessages;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * The manifests of a GitRepository with {@code source: Flake}: {@code nix eval --json
 * FLAKE#procurator.resources} at the commit, from the controller's own mirror of the remote. The
 * flake's {@code nixpkgs} input is overridden when the setting {@code procurator.nixpkgsOverride}
 * (system property) or {@code PROCURATOR_NIXPKGS_OVERRIDE} (environment) names a path: hosts
 * that cannot fetch nixpkgs point it at a copy of nixpkgs' lib.
 *
 * <p>The flake is user code: it is evaluated in a {@link NixJail} that shows it only the store, the
 * mirror and the override, with the jail's private settings ({@link NixJail#EVAL_CONF}: pure,
 * restricted, no import from derivation) and its limits, and a folder of its own per repository
 * (its {@code HOME} and nix's cache), so one repository's evaluation sees nothing of another's.
 */
final class FlakeResources {
  private FlakeResources() {}

  private static final ObjectMapper JSON = new ObjectMapper();
  static final String ATTRIBUTE = "procurator.resources";

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

  /**
   * The resources as one JSON {@code List} document, or nix's error.
   *
   * @param work this repository's own folder for its evaluations (settings, home, nix's cache)
   */
  static byte[] eval(Path repo, String commit, String path, Path work, NixJail.Limits limits)
      throws EvalException, IOException, InterruptedException {
    List<String> cmd = new ArrayList<>(List.of("nix", "eval", "--json", "--no-write-lock-file", flakeRef(repo, commit, path) + "#" + ATTRIBUTE));
    List<Path> shown = new ArrayList<>(List.of(repo.toAbsolutePath()));
    String override = System.getProperty("procurator.nixpkgsOverride", System.getenv("PROCURATOR_NIXPKGS_OVERRIDE"));
    if (override != null && !override.isBlank()) {
      Path lib = Path.of(override).toAbsolutePath();
      cmd.addAll(List.of("--override-input", "nixpkgs", "path:" + lib));
      shown.add(lib);
    }
    Path conf = work.resolve("conf");
    Files.createDirectories(conf);
    Files.writeString(conf.resolve("nix.conf"), NixJail.EVAL_CONF);
    NixJail.Outcome o = NixJail.run(work, conf, work.resolve("xdg"), shown, List.of(), limits, cmd);
    if (o.timedOut()) {
      throw new EvalException("nix eval of " + ATTRIBUTE + " took longer than its limit of " + limits.timeout().toSeconds() + " s and was stopped");
    }
    if (o.outOfMemory()) {
      throw new EvalException("nix eval of " + ATTRIBUTE + " ran out of memory: evaluations may use " + limits.describeMemory());
    }
    if (o.code() != 0) {
      throw new EvalException("evaluating " + ATTRIBUTE + ": " + NixMessages.errorLines(o.stderr()));
    }
    JsonNode resources = JSON.readTree(o.stdout());
    if (!resources.isArray()) {
      throw new EvalException(ATTRIBUTE + " must be a list of resources, not " + resources.getNodeType().name().toLowerCase(Locale.ROOT));
    }
    ObjectNode list = JSON.createObjectNode().put("apiVersion", "v1").put("kind", "List");
    list.set("items", resources);
    return JSON.writeValueAsBytes(list);
  }
}
