package dev.procurator.cachesrv;

import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.locks.LockSupport;
import org.gaul.s3proxy.AuthenticationType;
import org.gaul.s3proxy.S3Proxy;
import org.jclouds.ContextBuilder;
import org.jclouds.blobstore.BlobStoreContext;
import org.junit.jupiter.api.AfterEach;

/** The same closure-name tests with the cache in S3 (s3proxy on loopback): names persist in the bucket. */
class S3NamesIT extends NamesIT {
  private S3Proxy proxy;
  private BlobStoreContext context;
  private S3Store s3;

  @Override
  protected BlobStore store(Path dir) throws Exception {
    context = ContextBuilder.newBuilder("transient").credentials("identity", "credential").build(BlobStoreContext.class);
    context.getBlobStore().createContainerInLocation(null, "nix-cache");
    proxy = S3Proxy.builder().blobStore(context.getBlobStore()).endpoint(URI.create("http://127.0.0.1:0"))
        .awsAuthentication(AuthenticationType.AWS_V2_OR_V4, "access-key", "secret-key").build();
    proxy.start();
    long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
    while (!"STARTED".equals(proxy.getState())) {
      if (System.nanoTime() > deadline) {
        throw new IllegalStateException("s3proxy did not start: " + proxy.getState());
      }
      LockSupport.parkNanos(Duration.ofMillis(20).toNanos());
    }
    s3 = new S3Store(new S3Store.Config(URI.create("http://127.0.0.1:" + proxy.getPort()), "us-east-1", "nix-cache", "cache/",
        "access-key", "secret-key"), dir.resolve("scratch"));
    return s3;
  }

  @AfterEach
  void stopS3() throws Exception {
    if (s3 != null) {
      s3.close();
    }
    if (proxy != null) {
      proxy.stop();
    }
    if (context != null) {
      context.close();
    }
  }
}
