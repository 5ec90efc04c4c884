package dev.procurator.controllers.builds;

import dev.procurator.api.runtime.Conditions;
import dev.procurator.api.v1alpha1.Build;
import dev.procurator.api.v1alpha1.BuildAgreements;
import dev.procurator.api.v1alpha1.BuildPhase;
import dev.procurator.api.v1alpha1.BuildStatus;
import dev.procurator.api.v1alpha1.Node;
import io.fabric8.kubernetes.api.model.Condition;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * What the build controller does with one Build, decided from the Build, the Nodes and every other
 * Build. No I/O.
 *
 * <ul>
 *   <li>A new Build is {@code Pending}, attempt 1.
 *   <li>A {@code Pending} Build whose backoff has passed goes to a builder: a Ready, schedulable Node
 *       labelled {@code procurator.dev/builder=true} that matches its {@code nodeSelector} and runs
 *       fewer Builds than its {@code allocatable.builds}. Builds are served oldest first, so a Build
 *       takes the slot it would get if every queued Build were placed in order; the rest wait, with
 *       their place in the queue in the message.
 *   <li>A Build on a builder whose Node is gone or not Ready (the node lifecycle controller says so
 *       after the node's grace period) goes back to the queue as its next attempt.
 *   <li>A Succeeded Build with {@code deploy} that has not deployed yet is deployed.
 * </ul>
 */
public final class BuildQueue {
  private BuildQueue() {}

  /** What to do: write {@code status} (when it differs), maybe deploy, and look again after {@code requeue} (null: on change only). */
  public record Decision(BuildStatus status, boolean deploy, Duration requeue) {}

  public static Decision decide(Build build, List<Node> nodes, List<Build> all, Instant now) {
    BuildStatus s = build.getStatus() == null || build.getStatus().phase() == null ? BuildStatus.pending() : build.getStatus();
    BuildPhase phase = s.phase();
    if (phase.finished()) {
      boolean deploy = phase == BuildPhase.SUCCEEDED && build.getSpec().deploy() != null && s.deployedTo() == null
          && !"Superseded".equals(Conditions.reason(s.conditions(), BuildAgreements.DEPLOYED));
      return new Decision(s, deploy, null);
    }
    if (phase.onBuilder()) {
      Node node = nodes.stream().filter(n -> n.getMetadata().getName().equals(s.nodeName())).findFirst().orElse(null);
      if (node == null || !ready(node)) {
        String why = node == null ? "builder " + s.nodeName() + " is gone" : "builder " + s.nodeName() + " is not Ready";
        return new Decision(BuildAgreements.failed(build.getSpec(), s, true, "BuilderLost", why, now), false, null);
      }
      return new Decision(s, false, null);
    }
    // Pending
    if (s.notBefore() != null) {
      Instant at = Instant.parse(s.notBefore());
      if (now.isBefore(at)) {
        return new Decision(s, false, Duration.between(now, at));
      }
    }
    List<Node> builders = nodes.stream().filter(n -> builder(n) && ready(n) && schedulable(n) && matches(build, n)).toList();
    if (builders.isEmpty()) {
      String msg = "no Ready builder node (label " + BuildAgreements.BUILDER_LABEL + "=true" + selectorText(build) + ")";
      return new Decision(queued(s, "NoBuilder", msg, now), false, null);
    }
    Map<String, Integer> free = new HashMap<>();
    for (Node n : nodes) {
      free.put(n.getMetadata().getName(), capacity(n));
    }
    for (Build b : all) {
      if (b.getStatus() != null && b.getStatus().phase() != null && b.getStatus().phase().onBuilder() && b.getStatus().nodeName() != null) {
        free.merge(b.getStatus().nodeName(), -1, Integer::sum);
      }
    }
    // the queue, oldest first: each takes the first builder with room
    List<Build> queue = new ArrayList<>(all.stream().filter(b -> b.getStatus() == null || b.getStatus().phase() == null
        || b.getStatus().phase() == BuildPhase.PENDING && !waiting(b, now)).toList());
    if (queue.stream().noneMatch(b -> same(b, build))) {
      queue.add(build);
    }
    queue.sort(Comparator.comparing((Build b) -> String.valueOf(b.getMetadata().getCreationTimestamp()))
        .thenComparing(b -> b.getMetadata().getNamespace() + "/" + b.getMetadata().getName()));
    int ahead = 0;
    for (Build b : queue) {
      Optional<Node> slot = nodes.stream().filter(n -> builder(n) && ready(n) && schedulable(n) && matches(b, n)
          && free.getOrDefault(n.getMetadata().getName(), 0) > 0).findFirst();
      if (same(b, build)) {
        if (slot.isEmpty()) {
          String msg = "queued: every builder is busy" + (ahead > 0 ? ", " + ahead + " Build(s) ahead" : "");
          return new Decision(queued(s, "Queued", msg, now), false, null);
        }
        String node = slot.get().getMetadata().getName();
        String msg = "placed on builder " + node;
        BuildStatus placed = s.withPhase(BuildPhase.SCHEDULED, msg).withNode(node)
            .withConditions(Conditions.set(s.conditions(), Conditions.of(BuildAgreements.SCHEDULED, Conditions.TRUE, "Placed", msg, now)))
            .withObservedGeneration(build.getMetadata().getGeneration());
        return new Decision(placed, false, null);
      }
      if (slot.isPresent()) {
        free.merge(slot.get().getMetadata().getName(), -1, Integer::sum);
      } else {
        ahead++;
      }
    }
    throw new IllegalStateException("unreachable: the Build is in its own queue");
  }

  private static BuildStatus queued(BuildStatus s, String reason, String msg, Instant now) {
    List<Condition> c = s.conditions();
    // keep the transition time while the reason and message stay
    Optional<Condition> old = Conditions.find(c, BuildAgreements.SCHEDULED);
    if (old.isEmpty() || !reason.equals(old.get().getReason()) || !msg.equals(old.get().getMessage())) {
      c = Conditions.set(c, Conditions.of(BuildAgreements.SCHEDULED, Conditions.FALSE, reason, msg, now));
    }
    return s.withPhase(BuildPhase.PENDING, msg).withNode(null).withConditions(c);
  }

  private static boolean same(Build a, Build b) {
    return a.getMetadata().getName().equals(b.getMetadata().getName()) && a.getMetadata().getNamespace().equals(b.getMetadata().getNamespace());
  }

  private static boolean waiting(Build b, Instant now) {
    return b.getStatus().notBefore() != null && now.isBefore(Instant.parse(b.getStatus().notBefore()));
  }

  static boolean builder(Node n) {
    return n.getMetadata().getLabels() != null && "true".equals(n.getMetadata().getLabels().get(BuildAgreements.BUILDER_LABEL));
  }

  static boolean ready(Node n) {
    return n.getStatus() != null && Conditions.isTrue(n.getStatus().conditions(), "Ready");
  }

  private static boolean schedulable(Node n) {
    return n.getSpec() == null || !Boolean.TRUE.equals(n.getSpec().unschedulable());
  }

  private static boolean matches(Build b, Node n) {
    Map<String, String> sel = b.getSpec().nodeSelector();
    Map<String, String> labels = n.getMetadata().getLabels() == null ? Map.of() : n.getMetadata().getLabels();
    return sel == null || sel.entrySet().stream().allMatch(e -> e.getValue().equals(labels.get(e.getKey())));
  }

  private static int capacity(Node n) {
    String v = n.getStatus() == null || n.getStatus().allocatable() == null ? null : n.getStatus().allocatable().get(BuildAgreements.BUILDS_RESOURCE);
    try {
      return v == null ? 1 : Integer.parseInt(v);
    } catch (NumberFormatException e) {
      return 0;
    }
  }

  private static String selectorText(Build b) {
    Map<String, String> sel = b.getSpec().nodeSelector();
    if (sel == null || sel.isEmpty()) {
      return "";
    }
    StringBuilder out = new StringBuilder();
    sel.entrySet().stream().sorted(Map.Entry.comparingByKey()).forEach(e -> out.append(", ").append(e.getKey()).append('=').append(e.getValue()));
    return out.toString();
  }
}
