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
 * <p>Nix fetches a flake's inputs while locking them, before restricted evaluation can refuse
 * anything: so every input {@code flake.nix} declares must be locked in the commit's {@code
 * flake.lock}, whose URLs {@link FlakeInputs} checks first, and nix fetches nothing the lock does
 * not name ({@code --no-update-lock-file}).
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
  static byte[] eval(Path repo, String commit, String path, Path work, NixJail.Limits limits, boolean allowPrivate)
      throws EvalException, IOException, InterruptedException {
    // only what flake.lock locks is fetched (--no-update-lock-file), and only once its inputs pass FlakeInputs
    List<String> cmd = new ArrayList<>(List.of("nix", "eval", "--json", "--no-write-lock-file", "--no-update-lock-file",
        flakeRef(repo, commit, path) + "#" + ATTRIBUTE));
    List<Path> shown = new ArrayList<>(List.of(repo.toAbsolutePath()));
    String override = System.getProperty("procurator.nixpkgsOverride", System.getenv("PROCURATOR_NIXPKGS_OVERRIDE"));
    java.util.Set<String> overridden = new java.util.HashSet<>();
    if (override != null && !override.isBlank()) {
      Path lib = Path.of(override).toAbsolutePath();
      cmd.addAll(List.of("--override-input", "nixpkgs", "path:" + lib));
      shown.add(lib);
      overridden.add("nixpkgs");
    }
    Path conf = work.resolve("conf");
    Files.createDirectories(conf);
    Files.writeString(conf.resolve("nix.conf"), NixJail.EVAL_CONF);
    String dir = path == null || path.isBlank() || path.equals(".") ? "" : path.replaceAll("^\\./|/$", "") + "/";
    byte[] flakeNix = file(repo, commit, dir + "flake.nix");
    if (flakeNix == null) {
      throw new EvalException("the commit has no " + dir + "flake.nix");
    }
    String refused = FlakeInputs.refusal(file(repo, commit, dir + "flake.lock"), declaredInputs(flakeNix, work, conf, limits), overridden,
        allowPrivate);
    if (refused != null) {
      throw new EvalException(refused);
    }
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

  /** What {@code flake.nix} declares as inputs, read by nix (jailed, restricted, nothing fetched) from a copy of the file alone. */
  static java.util.Map<String, FlakeInputs.Declared> declaredInputs(byte[] flakeNix, Path work, Path conf, NixJail.Limits limits)
      throws EvalException, IOException, InterruptedException {
    Path copy = work.resolve("inputs");
    Files.createDirectories(copy);
    Files.write(copy.resolve("flake.nix"), flakeNix);
    NixJail.Outcome o = NixJail.run(work, conf, work.resolve("xdg"), List.of(copy), List.of(), limits, List.of("nix-instantiate", "--eval",
        "--strict", "--json", "--option", "pure-eval", "false", "--option", "restrict-eval", "true", "-I", "flake=" + copy, "-E", DECLARED));
    if (o.code() != 0) {
      throw new EvalException("reading the inputs of flake.nix: " + (o.timedOut() ? "took longer than its limit" : NixMessages.errorLines(o.stderr())));
    }
    java.util.Map<String, FlakeInputs.Declared> out = new java.util.TreeMap<>();
    JSON.readTree(o.stdout()).properties().forEach(e -> out.put(e.getKey(),
        new FlakeInputs.Declared(e.getValue().path("url").asText(null), e.getValue().path("follows").asBoolean())));
    return out;
  }

  /** Each declared input's URL (null when given by attributes) and whether it follows another. */
  private static final String DECLARED = """
      let f = import <flake/flake.nix>; in
      builtins.mapAttrs (n: v: {
        follows = builtins.isAttrs v && v ? follows;
        url = if builtins.isAttrs v && v ? url then toString v.url else null;
      }) (if f ? inputs then f.inputs else { })
      """;

  /** The file at {@code path} in {@code commit} of the mirror {@code repo}, or null when there is none. */
  static byte[] file(Path repo, String commit, String path) throws IOException {
    try (org.eclipse.jgit.lib.Repository r = new org.eclipse.jgit.storage.file.FileRepositoryBuilder().setGitDir(repo.toFile()).setBare().build();
        org.eclipse.jgit.revwalk.RevWalk walk = new org.eclipse.jgit.revwalk.RevWalk(r)) {
      var tree = walk.parseCommit(org.eclipse.jgit.lib.ObjectId.fromString(commit)).getTree();
      try (org.eclipse.jgit.treewalk.TreeWalk tw = org.eclipse.jgit.treewalk.TreeWalk.forPath(r, path, tree)) {
        if (tw == null || tw.isSubtree()) {
          return null;
        }
        return r.open(tw.getObjectId(0)).getBytes(1 << 20);
      }
    }
  }
}
