package dev.procurator.api.runtime;

import java.util.Objects;

/**
 * An Event a decision asks for, before it is recorded: {@link EventRecorder#NORMAL} or {@link
 * EventRecorder#WARNING}, a CamelCase reason and a note for people. The loop's dispatcher records
 * it about the object the pass was for, once the pass's writes have succeeded.
 */
public record EventSpec(String type, String reason, String note) {
  public EventSpec {
    Objects.requireNonNull(type, "type");
    Objects.requireNonNull(reason, "reason");
    if (!type.equals(EventRecorder.NORMAL) && !type.equals(EventRecorder.WARNING)) {
      throw new IllegalArgumentException("an Event's type is Normal or Warning, not " + type);
    }
  }

  public static EventSpec normal(String reason, String note) {
    return new EventSpec(EventRecorder.NORMAL, reason, note);
  }

  public static EventSpec warning(String reason, String note) {
    return new EventSpec(EventRecorder.WARNING, reason, note);
  }
}
