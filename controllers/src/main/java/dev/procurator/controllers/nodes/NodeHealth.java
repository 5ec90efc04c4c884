package dev.procurator.controllers.nodes;

import dev.procurator.api.runtime.Conditions;
import dev.procurator.api.v1alpha1.Node;
import io.fabric8.kubernetes.api.model.Condition;
import io.fabric8.kubernetes.api.model.coordination.v1.Lease;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.Optional;

/**
 * Whether a node is alive, as a pure function of its Node, its heartbeat Lease and the time: a
 * Lease renewed within its duration is alive; one that was not becomes {@code NotReady}; a node
 * that has been NotReady for the grace period loses its VMs to other nodes.
 */
public final class NodeHealth {
  private NodeHealth() {}

  /**
   * What to do about a node.
   *
   * @param notReady the Ready=False condition to write, or empty when the Node's is right already
   * @param evict whether the node's VMs should be moved now
   * @param lastRenewed when its agent last renewed the Lease (its creation, if it never did)
   * @param lookAgainIn when to look again even if nothing changes
   */
  public record Decision(Optional<Condition> notReady, boolean evict, Instant lastRenewed, Duration lookAgainIn) {}

  public static Decision decide(Node node, Lease lease, Instant now, Duration grace) {
    Instant renewed = lease == null || lease.getSpec().getRenewTime() == null ? null : lease.getSpec().getRenewTime().toInstant();
    if (renewed == null) {
      // a node that has not taken its lease yet gets one lease duration from its creation
      renewed = Instant.parse(node.getMetadata().getCreationTimestamp());
    }
    Duration duration = Duration.ofSeconds(lease == null || lease.getSpec().getLeaseDurationSeconds() == null ? 40
        : lease.getSpec().getLeaseDurationSeconds());
    Instant expires = renewed.plus(duration);
    if (now.isBefore(expires)) {
      return new Decision(Optional.empty(), false, renewed, Duration.between(now, expires).plusMillis(100));
    }
    Optional<Condition> ready = Conditions.find(node.getStatus() == null ? null : node.getStatus().conditions(), "Ready");
    Optional<Condition> write = Optional.empty();
    Instant notReadySince;
    if (ready.isEmpty() || !Conditions.FALSE.equals(ready.get().getStatus())) {
      String since = lease == null ? "it never took its lease" : "it last renewed its lease at " + renewed.truncatedTo(ChronoUnit.SECONDS);
      write = Optional.of(Conditions.of("Ready", Conditions.FALSE, "NodeLeaseExpired", "the node agent stopped reporting: " + since, now));
      notReadySince = now;
    } else {
      notReadySince = Instant.parse(ready.get().getLastTransitionTime());
    }
    Instant evictAt = notReadySince.plus(grace);
    if (now.isBefore(evictAt)) {
      return new Decision(write, false, renewed, Duration.between(now, evictAt).plusMillis(100));
    }
    return new Decision(write, true, renewed, Duration.ofSeconds(30));
  }
}
