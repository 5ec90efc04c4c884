package dev.procurator.api.runtime;

import java.time.Duration;
import java.util.Objects;

/** What a reconcile decided. Failures are exceptions: retried with backoff unless {@link TerminalException}. */
public sealed interface Result {
  /** The object is where it should be; look again only when it changes. */
  record Done() implements Result {}

  /** Look again after {@code delay} even if nothing changes (for example, to poll a booting VM). */
  record RequeueAfter(Duration delay) implements Result {
    public RequeueAfter {
      Objects.requireNonNull(delay);
      if (delay.isNegative()) {
        throw new IllegalArgumentException("negative delay " + delay);
      }
    }
  }

  static Result done() {
    return new Done();
  }

  static Result requeueAfter(Duration delay) {
    return new RequeueAfter(delay);
  }
}
