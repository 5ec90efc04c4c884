package dev.procurator.cachesrv;

import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.locks.LockSupport;
import org.gaul.s3proxy.AuthenticationType;
import org.gaul.s3proxy.S3Proxy;
import org.jclouds.ContextBuilder;
import org.jclouds.blobstore.BlobStoreContext;

/**
 * An S3 endpoint on loopback for the cache's tests: s3proxy (a real server speaking the S3 protocol
 * with V4 signatures) in front of an in-memory blob store with a bucket {@code nix-cache}, and the
 * cache's {@link S3Store} on it. Closing it stops all three.
 */
final class S3Loopback implements AutoCloseable {
  private final BlobStoreContext context;
  private final S3Proxy proxy;
  private final S3Store store;

  S3Loopback(Path scratch) throws Exception {
    context = ContextBuilder.newBuilder("transient").credentials("identity", "credential").build(BlobStoreContext.class);
    context.getBlobStore().createContainerInLocation(null, "nix-cache");
    // port 0: s3proxy binds a port the kernel picks, so none can be taken between a check and the bind
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
    store = new S3Store(new S3Store.Config(URI.create("http://127.0.0.1:" + proxy.getPort()), "us-east-1", "nix-cache", "cache/",
        "access-key", "secret-key"), scratch);
  }

  S3Store store() {
    return store;
  }

  @Override
  public void close() throws Exception {
    store.close();
    proxy.stop();
    context.close();
  }
}
