package dev.procurator.apiserver.auth;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A kube-apiserver {@code --token-auth-file}: CSV lines {@code token,user,uid,"group1,group2"}
 * (the groups column optional), blank lines and {@code #} comments ignored. A malformed line fails
 * the whole file with its line number, so a server never starts with half its users.
 */
public final class TokenFile {
  private TokenFile() {}

  public static Map<String, UserInfo> read(Path file) {
    List<String> lines;
    try {
      lines = Files.readAllLines(file);
    } catch (IOException e) {
      throw new IllegalArgumentException("cannot read the token file " + file + ": " + e.getMessage(), e);
    }
    return parse(lines, file.toString());
  }

  static Map<String, UserInfo> parse(List<String> lines, String source) {
    Map<String, UserInfo> out = new LinkedHashMap<>();
    for (int i = 0; i < lines.size(); i++) {
      String line = lines.get(i).strip();
      if (line.isEmpty() || line.startsWith("#")) {
        continue;
      }
      List<String> cols = columns(line, source, i + 1);
      if (cols.size() < 3) {
        throw new IllegalArgumentException(source + " line " + (i + 1) + ": want token,user,uid[,\"group1,group2\"], found "
            + cols.size() + " columns");
      }
      String token = cols.get(0);
      String user = cols.get(1);
      if (token.isEmpty() || user.isEmpty()) {
        throw new IllegalArgumentException(source + " line " + (i + 1) + ": the token and the user must not be empty");
      }
      List<String> groups = new ArrayList<>();
      if (cols.size() > 3) {
        for (String g : cols.get(3).split(",")) {
          if (!g.isBlank()) {
            groups.add(g.strip());
          }
        }
      }
      if (out.put(token, new UserInfo(user, groups)) != null) {
        throw new IllegalArgumentException(source + " line " + (i + 1) + ": this token is given twice");
      }
    }
    return out;
  }

  /** One CSV line's columns; a quoted column may hold commas and doubled quotes. */
  private static List<String> columns(String line, String source, int number) {
    List<String> out = new ArrayList<>();
    StringBuilder cur = new StringBuilder();
    boolean quoted = false;
    for (int i = 0; i < line.length(); i++) {
      char c = line.charAt(i);
      if (quoted) {
        if (c == '"' && i + 1 < line.length() && line.charAt(i + 1) == '"') {
          cur.append('"');
          i++;
        } else if (c == '"') {
          quoted = false;
        } else {
          cur.append(c);
        }
      } else if (c == '"') {
        quoted = true;
      } else if (c == ',') {
        out.add(cur.toString().strip());
        cur.setLength(0);
      } else {
        cur.append(c);
      }
    }
    if (quoted) {
      throw new IllegalArgumentException(source + " line " + number + ": a quote is not closed");
    }
    out.add(cur.toString().strip());
    return out;
  }
}
