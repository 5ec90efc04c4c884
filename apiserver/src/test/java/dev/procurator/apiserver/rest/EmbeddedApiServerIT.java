package dev.procurator.apiserver.rest;

import dev.procurator.apiserver.testing.TestApiServer;

class EmbeddedApiServerIT extends ApiServerContract {
  @Override
  protected TestApiServer start() throws Exception {
    return TestApiServer.start(java.util.List.of(), c -> c.withBookmarkInterval(BOOKMARK_INTERVAL));
  }
}
