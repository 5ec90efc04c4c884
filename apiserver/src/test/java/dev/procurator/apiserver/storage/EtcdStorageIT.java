package dev.procurator.apiserver.storage;

import dev.procurator.apiserver.testing.EtcdProcess;
import java.time.Duration;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;

class EtcdStorageIT extends StorageContract {
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
    return EtcdStorage.connect(etcd.endpoints(), Duration.ofSeconds(10));
  }
}
