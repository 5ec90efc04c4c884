package dev.procurator.apiserver.testing.history;

import java.util.Locale;
import java.util.Objects;

/**
 * One client operation on one object, as the client saw it: when it called ({@link System#nanoTime}),
 * what it asked, when the answer came and what it was. An operation whose answer never came (a
 * timeout, a broken connection) has output {@link Output.Unknown} and return time
 * {@link #NEVER}: it may have taken effect at any moment after its call, or not at all.
 */
public record Operation(int id, int client, String key, Input input, Output output, long call, long ret) {
  /** The return time of an operation with an unknown outcome: after everything. */
  public static final long NEVER = Long.MAX_VALUE;

  public Operation {
    Objects.requireNonNull(key, "key");
    Objects.requireNonNull(input, "input");
    Objects.requireNonNull(output, "output");
    if (output instanceof Output.Unknown) {
      ret = NEVER;
    }
    if (ret < call) {
      throw new IllegalArgumentException("operation " + id + " returned before it was called");
    }
  }

  public boolean unknown() {
    return output instanceof Output.Unknown;
  }

  /** This operation with its outcome forgotten: it may or may not have taken effect. */
  public Operation withUnknownOutcome() {
    return new Operation(id, client, key, input, new Output.Unknown(), call, NEVER);
  }

  /** This operation with {@code other} as its answer, returned at the same time. */
  public Operation withOutput(Output other) {
    return new Operation(id, client, key, input, other, call, other instanceof Output.Unknown ? NEVER : ret);
  }

  /** What a client asks of one object. */
  public sealed interface Input {
    /** Create the object holding {@code value}. */
    record Create(String value) implements Input {}

    /** Read the object. */
    record Get() implements Input {}

    /** Replace the value if the object's resourceVersion is still {@code expectedRv}. */
    record Update(String value, String expectedRv) implements Input {}

    /** Delete the object. */
    record Delete() implements Input {}
  }

  /** What the server answered. */
  public sealed interface Output {
    /** A create or update took effect; the object's new resourceVersion is {@code rv}. */
    record Written(String rv) implements Output {}

    /** A read found the object holding {@code value} at resourceVersion {@code rv}. */
    record Read(String value, String rv) implements Output {}

    /** A delete took effect. */
    record Deleted() implements Output {}

    /** 404: there was no such object. */
    record NotFound() implements Output {}

    /** 409 on create: the object was already there. */
    record AlreadyExists() implements Output {}

    /** 409 on update: the object's resourceVersion was not the expected one. */
    record Conflict() implements Output {}

    /** No answer (a timeout or a broken connection): it may or may not have taken effect. */
    record Unknown() implements Output {}
  }

  /** A readable line: {@code [client 3] +12.345 ms .. +13.001 ms  update(v7, rv=41) -> ok rv=44}; times from {@code origin}. */
  public String describe(long origin) {
    String in = switch (input) {
      case Input.Create c -> "create(" + c.value() + ")";
      case Input.Get g -> "get";
      case Input.Update u -> "update(" + u.value() + ", rv=" + u.expectedRv() + ")";
      case Input.Delete d -> "delete";
    };
    String out = switch (output) {
      case Output.Written w -> "ok rv=" + w.rv();
      case Output.Read r -> r.value() + " rv=" + r.rv();
      case Output.Deleted d -> "ok";
      case Output.NotFound n -> "NotFound";
      case Output.AlreadyExists a -> "AlreadyExists";
      case Output.Conflict c -> "Conflict";
      case Output.Unknown u -> "unknown (no answer)";
    };
    String end = ret == NEVER ? "never" : millis(ret - origin);
    return String.format(Locale.ROOT, "[client %d] %s .. %s  %s -> %s", client, millis(call - origin), end, in, out);
  }

  private static String millis(long nanos) {
    return String.format(Locale.ROOT, "+%.3f ms", nanos / 1e6);
  }
}
