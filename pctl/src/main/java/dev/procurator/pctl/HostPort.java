package dev.procurator.pctl;

/** A {@code host:port} listen address from the command line. */
record HostPort(String host, int port) {
  static HostPort parse(String flag, String text) {
    int colon = text.lastIndexOf(':');
    if (colon > 0) {
      try {
        int port = Integer.parseInt(text.substring(colon + 1));
        if (port >= 0 && port <= 65535) {
          return new HostPort(text.substring(0, colon), port);
        }
      } catch (NumberFormatException ignored) {
        // reported below
      }
    }
    throw new Errors.UserError(flag + " must be host:port, not \"" + text + "\"");
  }
}
