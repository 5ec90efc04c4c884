package dev.procurator.apiserver.auth;

import java.util.List;

/** An authenticated caller. */
public record UserInfo(String name, List<String> groups) {
  public UserInfo {
    groups = List.copyOf(groups);
  }
}
