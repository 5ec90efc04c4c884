package dev.procurator.cachesrv;

import java.nio.file.Path;
import org.junit.jupiter.api.AfterEach;

/** The same closure-name tests with the cache in S3 (s3proxy on loopback): names persist in the bucket. */
class S3NamesIT extends NamesIT {
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
