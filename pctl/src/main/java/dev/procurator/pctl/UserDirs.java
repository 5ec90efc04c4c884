package dev.procurator.pctl;

import java.nio.file.Path;

/** Where pctl keeps a user's files: {@code $HOME/.procurator}, as kubectl keeps {@code $HOME/.kube}. */
final class UserDirs {
  private UserDirs() {}

  /**
   * {@code $HOME/.procurator}, or the account's home from the password database when {@code HOME} is
   * unset. Like kubectl and nix, pctl follows {@code HOME}, so a script or test that points it
   * elsewhere never touches the user's own kubeconfig or data.
   */
  static Path procurator() {
    String home = System.getenv("HOME");
    return Path.of(home != null && !home.isBlank() ? home : System.getProperty("user.home"), ".procurator");
  }
}
