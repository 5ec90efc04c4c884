package dev.procurator.cachesrv;

import java.nio.file.Path;
import org.junit.jupiter.api.AfterEach;

/**
 * The same nix client tests with the cache in S3: s3proxy (a real S3 server, its own code,
 * speaking the S3 protocol with V4 signatures) on loopback, in front of an in-memory blob store.
 */
class S3NixClientIT extends NixClientIT {
  private S3Loopback s3;

  @Override
  protected BlobStore store(Path dir) throws Exception {
    s3 = new S3Loopback(dir.resolve("scratch"));
    return s3.store();
  }

  @AfterEach
  void stopS3() throws Exception {
    if (s3 != null) {
      s3.close();
    }
  }
}
