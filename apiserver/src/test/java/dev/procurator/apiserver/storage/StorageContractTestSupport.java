package dev.procurator.apiserver.storage;

import java.nio.charset.StandardCharsets;

final class StorageContractTestSupport {
  private StorageContractTestSupport() {}

  static String name(KeyValue kv) {
    return kv.key().substring(kv.key().lastIndexOf('/') + 1);
  }

  static String value(KeyValue kv) {
    return new String(kv.value(), StandardCharsets.UTF_8);
  }
}
