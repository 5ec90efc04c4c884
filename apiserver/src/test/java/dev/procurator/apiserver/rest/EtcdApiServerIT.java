package dev.procurator.apiserver.rest;

import dev.procurator.apiserver.testing.EtcdProcess;
import dev.procurator.apiserver.testing.TestApiServer;
import org.junit.jupiter.api.AfterAll;

class EtcdApiServerIT extends ApiServerContract {
  private EtcdProcess etcd;

  @Override
  protected TestApiServer start() throws Exception {
    etcd = EtcdProcess.start(1);
    return TestApiServer.start(etcd.endpoints(), c -> c.withBookmarkInterval(BOOKMARK_INTERVAL));
  }

  @AfterAll
  void stopEtcd() {
    etcd.close();
  }
}
