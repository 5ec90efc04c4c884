package dev.procurator.nodeagent.registration;

import static org.assertj.core.api.Assertions.assertThat;

import dev.procurator.api.v1alpha1.Hypervisor;
import dev.procurator.api.v1alpha1.Node;
import dev.procurator.apiserver.testing.TestApiServer;
import io.fabric8.kubernetes.api.model.coordination.v1.Lease;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** A node agent joins a real API server: its Node says what it offers and that it is Ready; its Lease moves on. */
class NodeRegistrationIT {
  @Test
  void registersTheNodeAndRenewsItsLease() throws Exception {
    try (TestApiServer api = TestApiServer.embedded()) {
      KubernetesClient client = api.client();
      Instant t0 = Instant.parse("2026-11-22T10:00:00Z");
      NodeRegistration first = new NodeRegistration(client, "host-a", Map.of("zone", "a"), List.of(Hypervisor.QEMU), false,
          new HostFacts(2, 24L << 30), Clock.fixed(t0, ZoneOffset.UTC), Duration.ofSeconds(40));
      first.register();

      Node node = client.resources(Node.class).withName("host-a").get();
      assertThat(node.getMetadata().getLabels()).containsEntry("zone", "a");
      assertThat(node.getStatus().capacity()).containsEntry("cpu", "2").containsEntry("memory", "24576Mi");
      assertThat(node.getStatus().hypervisors()).containsExactly(Hypervisor.QEMU);
      assertThat(node.getStatus().conditions()).singleElement().satisfies(c -> {
        assertThat(c.getType()).isEqualTo("Ready");
        assertThat(c.getStatus()).isEqualTo("True");
      });
      Lease lease = client.leases().inNamespace(NodeRegistration.LEASE_NAMESPACE).withName("host-a").get();
      assertThat(lease.getSpec().getHolderIdentity()).isEqualTo("host-a");
      assertThat(lease.getSpec().getRenewTime().toInstant()).isEqualTo(t0);

      // the agent restarts ten seconds later: the same Node, the Ready transition time kept, the lease renewed
      NodeRegistration again = new NodeRegistration(client, "host-a", Map.of("zone", "a"), List.of(Hypervisor.QEMU), false,
          new HostFacts(2, 24L << 30), Clock.fixed(t0.plusSeconds(10), ZoneOffset.UTC), Duration.ofSeconds(40));
      again.register();
      Node after = client.resources(Node.class).withName("host-a").get();
      assertThat(after.getMetadata().getUid()).isEqualTo(node.getMetadata().getUid());
      assertThat(after.getStatus().conditions().get(0).getLastTransitionTime()).isEqualTo("2026-11-22T10:00:00Z");
      assertThat(client.leases().inNamespace(NodeRegistration.LEASE_NAMESPACE).withName("host-a").get().getSpec().getRenewTime()
          .toInstant()).isEqualTo(t0.plusSeconds(10));
      assertThat(again.renewEvery()).isEqualTo(Duration.ofSeconds(10));
    }
  }
}
