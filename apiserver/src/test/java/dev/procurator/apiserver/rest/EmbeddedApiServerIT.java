package dev.procurator.apiserver.rest;

import dev.procurator.apiserver.testing.TestApiServer;

class EmbeddedApiServerIT extends ApiServerContract {
  @Override
  protected TestApiServer start() throws Exception {
    return TestApiServer.embedded();
  }
}
