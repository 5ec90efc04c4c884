package dev.procurator.pctl;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.procurator.apiserver.testing.EtcdProcess;
import io.etcd.jetcd.Client;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import java.util.Locale;

/** kill -9 while 64 clients write: every acknowledged write is there after the restart. */
class DurabilityIT {
  private static final int CLIENTS = 64;

  /** name -> spec.cpu of every VM in the namespace. */
  private static Map<String, Integer> stored(PctlUp up, String ns) throws Exception {
    JsonNode list = new ObjectMapper().readTree(up.request("GET", "/apis/procurator.dev/v1alpha1/namespaces/" + ns + "/vms", null).body());
    Map<String, Integer> out = new HashMap<>();
    list.path("items").forEach(i -> out.put(i.at("/metadata/name").asText(), i.at("/spec/cpu").asInt()));
    return out;
  }

  private static void assertNothingLost(WriteLoad load, Map<String, Integer> stored) {
    assertThat(stored.keySet()).as("acknowledged creates").containsAll(load.created);
    load.updated.forEach((name, cpu) -> assertThat(stored.get(name)).as("acknowledged update of %s", name).isEqualTo(cpu));
  }

  @Test
  void embeddedStoreKeepsEveryAcknowledgedWriteAcrossKill9() throws Exception {
    try (PctlUp up = PctlUp.start()) {
      WriteLoad load = new WriteLoad(up, "durable", CLIENTS);
      await().atMost(Duration.ofSeconds(120)).until(() -> load.acknowledged() >= 3000);
      up.kill9();
      load.close();

      up.launch();
      Map<String, Integer> stored = stored(up, "durable");
      assertNothingLost(load, stored);
      System.out.printf(Locale.ROOT, "embedded: %d creates and %d updates acknowledged before kill -9, %d objects after restart%n",
          load.created.size(), load.updated.size(), stored.size());
    }
  }

  @Test
  void etcdKeepsEveryAcknowledgedWriteAcrossKill9OfTheApiServerAndTheLeader() throws Exception {
    try (EtcdProcess etcd = EtcdProcess.start(3)) {
      String store = "etcd://" + String.join(",", etcd.endpoints().stream().map(e -> e.substring("http://".length())).toList());
      try (PctlUp up = PctlUp.start("--store", store)) {
        WriteLoad load = new WriteLoad(up, "durable", CLIENTS);
        await().atMost(Duration.ofSeconds(120)).until(() -> load.acknowledged() >= 1000);
        up.kill9();
        up.launch();
        int before = load.acknowledged();
        await().atMost(Duration.ofSeconds(120)).until(() -> load.acknowledged() >= before + 1000);

        EtcdProcess.Member leader = leader(etcd);
        etcd.kill(leader);
        int afterKill = load.acknowledged();
        await().atMost(Duration.ofSeconds(120)).until(() -> load.acknowledged() >= afterKill + 1000);
        load.close();
        etcd.restart(leader);

        Map<String, Integer> stored = stored(up, "durable");
        assertNothingLost(load, stored);
        System.out.printf(Locale.ROOT, "etcd: %d creates and %d updates acknowledged across two kill -9s, %d failed requests, %d objects%n",
            load.created.size(), load.updated.size(), load.failures.get(), stored.size());
      }
    }
  }

  private static EtcdProcess.Member leader(EtcdProcess etcd) throws Exception {
    try (Client c = Client.builder().endpoints(etcd.endpoints().toArray(String[]::new)).build()) {
      for (EtcdProcess.Member m : etcd.members()) {
        var status = c.getMaintenanceClient().statusMember(m.endpoint()).get(10, TimeUnit.SECONDS);
        if (status.getLeader() == status.getHeader().getMemberId()) {
          return m;
        }
      }
    }
    throw new IllegalStateException("no etcd leader");
  }
}
