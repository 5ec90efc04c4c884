package dev.procurator.pctl;

import io.fabric8.kubernetes.api.model.Status;
import io.fabric8.kubernetes.client.KubernetesClientException;
import java.io.IOException;
import java.net.ConnectException;

/** One clear line for each failure, in kubectl's words where kubectl has them. */
final class Errors {
  private Errors() {}

  static String describe(Throwable e) {
    if (e instanceof UserError u) {
      return "error: " + u.getMessage();
    }
    if (e instanceof ServerError s) {
      return s.getMessage();
    }
    if (e instanceof KubernetesClientException k) {
      Status s = k.getStatus();
      if (s != null && s.getMessage() != null && s.getReason() != null) {
        return "Error from server (" + s.getReason() + "): " + s.getMessage();
      }
      Throwable cause = rootCause(k);
      if (cause instanceof ConnectException || cause instanceof IOException) {
        return "error: cannot reach the API server: " + cause.getMessage();
      }
      return "error: " + (k.getMessage() == null ? cause.toString() : k.getMessage());
    }
    Throwable cause = rootCause(e);
    if (cause instanceof ConnectException) {
      return "error: cannot reach the API server: connection refused";
    }
    return "error: " + (cause.getMessage() == null ? cause.toString() : cause.getMessage());
  }

  private static Throwable rootCause(Throwable e) {
    Throwable c = e;
    while (c.getCause() != null && c.getCause() != c) {
      c = c.getCause();
    }
    return c;
  }

  /** A mistake in what the user asked for; printed as {@code error: ...}. */
  static final class UserError extends RuntimeException {
    UserError(String message) {
      super(message);
    }
  }

  /** A failure the server reported, already worded. */
  static final class ServerError extends RuntimeException {
    ServerError(String message) {
      super(message);
    }
  }
}
