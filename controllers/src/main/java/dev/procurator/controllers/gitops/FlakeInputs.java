package dev.procurator.controllers.gitops;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * Which inputs a GitRepository's flake may have nix fetch. Nix fetches a flake's inputs while it
 * locks them, before restricted evaluation or {@code --no-update-lock-file} can refuse anything; so
 * the controller decides first, from the commit's {@code flake.lock} and the inputs its {@code
 * flake.nix} declares: every declared input must be locked (so nix fetches only what the lock
 * names), and every locked input's URL obeys the rules of {@link GitUrls}: no {@code file://} or
 * {@code path:} source, no host on a loopback, link-local or private address, unless the
 * controllers allow private remotes. {@code github:} and {@code gitlab:} inputs reach their public
 * hosts unless they name another {@code host}. Pure but for name resolution.
 */
final class FlakeInputs {
  private FlakeInputs() {}

  private static final ObjectMapper JSON = new ObjectMapper();

  /** An input as {@code flake.nix} declares it: its URL when it gives one, and whether it only follows another input. */
  record Declared(String url, boolean follows) {}

  /**
   * Why nix may not fetch the flake's inputs, or null when it may.
   *
   * @param lock the commit's {@code flake.lock}, or null when it has none
   * @param declared the inputs {@code flake.nix} declares, by name
   * @param overridden inputs given on nix's command line ({@code --override-input}): neither fetched from the lock nor checked
   */
  static String refusal(byte[] lock, Map<String, Declared> declared, Set<String> overridden, boolean allowPrivate) throws IOException {
    JsonNode nodes = null;
    JsonNode rootInputs = null;
    if (lock != null) {
      JsonNode l = JSON.readTree(lock);
      nodes = l.path("nodes");
      rootInputs = nodes.path(l.path("root").asText("root")).path("inputs");
    }
    for (var e : declared.entrySet()) {
      String name = e.getKey();
      if (e.getValue().follows() || overridden.contains(name)) {
        continue;
      }
      if (rootInputs == null || !rootInputs.has(name)) {
        return "flake input '" + name + "'" + (e.getValue().url() == null ? "" : " (" + e.getValue().url() + ")")
            + " is not locked: nix would fetch it to lock it; commit a flake.lock that locks every input (nix flake lock)";
      }
    }
    if (nodes == null) {
      return null;
    }
    List<String> skipped = new ArrayList<>();
    if (rootInputs != null) {
      for (String name : overridden) {
        JsonNode target = rootInputs.get(name);
        if (target != null && target.isTextual()) {
          skipped.add(target.asText());
        }
      }
    }
    for (var node : nodes.properties()) {
      JsonNode locked = node.getValue().get("locked");
      if (locked == null || skipped.contains(node.getKey())) {
        continue; // the root, or an input given on the command line
      }
      String why = lockedRefusal(node.getKey(), locked, allowPrivate);
      if (why != null) {
        return why;
      }
    }
    return null;
  }

  /** Why one locked input may not be fetched, or null. */
  static String lockedRefusal(String name, JsonNode locked, boolean allowPrivate) {
    String type = locked.path("type").asText("");
    String what = "flake input '" + name + "'";
    return switch (type) {
      case "github", "gitlab", "sourcehut" -> {
        String host = locked.path("host").asText(null);
        yield host == null ? null : GitUrls.refusal(what, "https://" + host + "/", allowPrivate);
      }
      case "tarball", "file", "git", "hg" -> {
        String url = locked.path("url").asText("");
        yield GitUrls.refusal(what, url.replaceFirst("^(git|hg|tarball|file)\\+(?=[a-z]+://)", ""), allowPrivate);
      }
      case "path" -> allowPrivate ? null : what + " is path:" + locked.path("path").asText() + ", a folder on the controllers' own disk; "
          + "path: inputs are refused unless the controllers allow private remotes (--allow-private-git-urls)";
      default -> what + " has type \"" + type.toLowerCase(Locale.ROOT) + "\", which the controllers do not fetch";
    };
  }
}
