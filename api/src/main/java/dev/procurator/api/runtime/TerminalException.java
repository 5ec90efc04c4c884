package dev.procurator.api.runtime;

/** A failure that retrying cannot fix (for example, invalid input); the key is not requeued. */
public class TerminalException extends Exception {
  public TerminalException(String message) {
    super(message);
  }

  public TerminalException(String message, Throwable cause) {
    super(message, cause);
  }
}
