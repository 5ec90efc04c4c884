package dev.procurator.api.text;

import java.util.List;

/** What a user needs from the nix client's output. */
public final class NixMessages {
  private NixMessages() {}

  /**
   * nix's {@code error:} lines and what follows them, joined on one line, after the {@code fatal:}
   * line of a git that nix ran; or the last line when there is none.
   */
  public static String errorLines(String output) {
    List<String> lines = output.lines().toList();
    StringBuilder out = new StringBuilder();
    boolean in = false;
    for (String l : lines) {
      if (l.startsWith("fatal:") && !in) {
        out.append(out.isEmpty() ? "" : " ").append(l.strip());
      }
      if (l.startsWith("error:")) {
        in = true;
      }
      if (in && !l.isBlank()) {
        out.append(out.isEmpty() ? "" : " ").append(l.strip());
      }
    }
    String s = out.isEmpty() ? (lines.isEmpty() ? "(no output)" : lines.getLast().strip()) : out.toString();
    return s.length() > 1000 ? s.substring(0, 1000) + "..." : s;
  }
}
