package dev.procurator.api.runtime;

import io.fabric8.kubernetes.api.model.Condition;
import io.fabric8.kubernetes.api.model.ConditionBuilder;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * Status conditions the Kubernetes way: one per type, and a {@code lastTransitionTime} that moves
 * only when the condition's status does. Every loop builds, finds and sets conditions here.
 */
public final class Conditions {
  public static final String TRUE = "True";
  public static final String FALSE = "False";
  public static final String UNKNOWN = "Unknown";

  private Conditions() {}

  /** A condition observed at {@code now} (seconds precision, as Kubernetes writes them). */
  public static Condition of(String type, String status, String reason, String message, Instant now) {
    return new ConditionBuilder().withType(type).withStatus(status).withReason(reason).withMessage(message)
        .withLastTransitionTime(timestamp(now)).build();
  }

  /** {@code now} as Kubernetes writes times in status: RFC 3339, whole seconds. */
  public static String timestamp(Instant now) {
    return now.truncatedTo(ChronoUnit.SECONDS).toString();
  }

  /** The condition of {@code type}, if {@code conditions} (may be null) has one. */
  public static Optional<Condition> find(List<Condition> conditions, String type) {
    if (conditions == null) {
      return Optional.empty();
    }
    return conditions.stream().filter(c -> type.equals(c.getType())).findFirst();
  }

  /** Whether the condition of {@code type} is there with status True. */
  public static boolean isTrue(List<Condition> conditions, String type) {
    return find(conditions, type).map(c -> TRUE.equals(c.getStatus())).orElse(false);
  }

  /** The reason of the condition of {@code type}, or "" when there is none. */
  public static String reason(List<Condition> conditions, String type) {
    return find(conditions, type).map(Condition::getReason).orElse("");
  }

  /**
   * {@code existing} (may be null) with {@code c} in place of the condition of its type; when that
   * condition had the same status, its lastTransitionTime is kept.
   */
  public static List<Condition> set(List<Condition> existing, Condition c) {
    List<Condition> out = new ArrayList<>(existing == null ? List.of() : existing);
    for (int i = 0; i < out.size(); i++) {
      Condition was = out.get(i);
      if (was.getType().equals(c.getType())) {
        out.set(i, Objects.equals(was.getStatus(), c.getStatus())
            ? new ConditionBuilder(c).withLastTransitionTime(was.getLastTransitionTime()).build() : c);
        return out;
      }
    }
    out.add(c);
    return out;
  }

  /** {@link #set} for each of {@code conditions} in turn; nulls are skipped. */
  public static List<Condition> setAll(List<Condition> existing, Condition... conditions) {
    List<Condition> out = existing;
    for (Condition c : conditions) {
      if (c != null) {
        out = set(out, c);
      }
    }
    return out;
  }

  /** {@code existing} without the conditions of the given types. */
  public static List<Condition> remove(List<Condition> existing, String... types) {
    List<Condition> out = new ArrayList<>(existing == null ? List.of() : existing);
    out.removeIf(c -> List.of(types).contains(c.getType()));
    return out;
  }
}
