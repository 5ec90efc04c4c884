package dev.procurator.apiserver.storage;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;

import dev.procurator.apiserver.testing.EtcdProcess;
import io.etcd.jetcd.ByteSequence;
import io.etcd.jetcd.Client;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The contract on a real etcd, with one lone write txn in flight (instead of the server's few) so
 * that the contract's concurrent writes go through shared txns.
 */
class EtcdStorageIT extends StorageContract {
  private static final Duration TIMEOUT = Duration.ofSeconds(10);
  private static EtcdProcess etcd;

  @BeforeAll
  static void startEtcd() throws Exception {
    etcd = EtcdProcess.start(1);
  }

  @AfterAll
  static void stopEtcd() {
    etcd.close();
  }

  @Override
  protected Storage newStorage() {
    return new EtcdStorage(EtcdStorage.client(etcd.endpoints(), TIMEOUT), TIMEOUT, 1);
  }

  @Test
  void writesWaitingTogetherShareEtcdTxnsAndKeepTheirOwnRevisions() throws Exception {
    long before = EtcdRevision.etcd(storage.currentRevision());
    List<CompletableFuture<Long>> writes = new ArrayList<>();
    for (int i = 0; i < 64; i++) {
      writes.add(storage.createAsync("/batch" + before + "/k" + i, ("v" + i).getBytes(UTF_8)));
    }
    List<Long> revisions = writes.stream().map(CompletableFuture::join).toList();
    long txns = EtcdRevision.etcd(storage.currentRevision()) - before;
    assertThat(txns).isLessThan(16);
    assertThat(revisions).doesNotHaveDuplicates();

    // etcdctl-style readers still find the first write of each txn as plain bytes
    try (Client raw = Client.builder().endpoints(etcd.endpoints().toArray(String[]::new)).build()) {
      for (int i = 0; i < 64; i++) {
        byte[] stored = raw.getKVClient().get(ByteSequence.from("/batch" + before + "/k" + i, UTF_8)).get()
            .getKvs().get(0).getValue().getBytes();
        int slot = EtcdRevision.slot(revisions.get(i));
        assertThat(stored[0] == 0).isEqualTo(slot > 0);
        assertThat(new String(stored, slot > 0 ? 2 : 0, stored.length - (slot > 0 ? 2 : 0), UTF_8)).isEqualTo("v" + i);
      }
    }
  }

  @Test
  void anEtcdThatTakesFewerOperationsPerTxnGetsSmallerBatches() throws Exception {
    try (EtcdProcess strict = EtcdProcess.start(1, List.of("--max-txn-ops=4"));
        Storage small = new EtcdStorage(EtcdStorage.client(strict.endpoints(), TIMEOUT), TIMEOUT, 1)) {
      List<CompletableFuture<Long>> writes = new ArrayList<>();
      for (int i = 0; i < 64; i++) {
        writes.add(small.createAsync("/strict/k" + i, ("v" + i).getBytes(UTF_8)));
      }
      assertThat(writes.stream().map(CompletableFuture::join).toList()).doesNotHaveDuplicates();
      assertThat(small.list("/strict/", null, 0, 0).items()).hasSize(64);
    }
  }
}
