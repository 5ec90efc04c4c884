package dev.procurator.cachesrv;

import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.core.checksums.RequestChecksumCalculation;
import software.amazon.awssdk.core.checksums.ResponseChecksumValidation;
import software.amazon.awssdk.core.exception.SdkException;
import software.amazon.awssdk.core.sync.RequestBody;
import software.amazon.awssdk.http.urlconnection.UrlConnectionHttpClient;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.S3Configuration;
import software.amazon.awssdk.services.s3.model.DeleteObjectRequest;
import software.amazon.awssdk.services.s3.model.GetObjectRequest;
import software.amazon.awssdk.services.s3.model.HeadObjectRequest;
import software.amazon.awssdk.services.s3.model.ListObjectsV2Request;
import software.amazon.awssdk.services.s3.model.NoSuchKeyException;
import software.amazon.awssdk.services.s3.model.PutObjectRequest;
import software.amazon.awssdk.services.s3.model.S3Exception;
import software.amazon.awssdk.services.s3.model.S3Object;

/**
 * A cache in an S3 bucket (AWS, or any S3-compatible server: MinIO, Ceph RGW, Garage, s3proxy),
 * under a key prefix. S3 makes an object visible only once it is whole, which is the guarantee
 * the cache needs. Uploads are received and checked on local disk ({@link #scratch()}) first.
 */
public final class S3Store implements BlobStore, AutoCloseable {
  /**
   * @param endpoint for example {@code https://s3.eu-west-1.amazonaws.com} or {@code http://127.0.0.1:9000}
   */
  public record Config(URI endpoint, String region, String bucket, String prefix, String accessKey, String secretKey) {}

  private final S3Client s3;
  private final String bucket;
  private final String prefix;
  private final Path scratch;

  public S3Store(Config config, Path scratch) throws IOException {
    this.bucket = config.bucket();
    String p = config.prefix() == null ? "" : config.prefix();
    this.prefix = p.isEmpty() || p.endsWith("/") ? p : p + "/";
    this.scratch = scratch;
    Files.createDirectories(scratch);
    this.s3 = S3Client.builder()
        .endpointOverride(config.endpoint())
        .region(Region.of(config.region() == null ? "us-east-1" : config.region()))
        .credentialsProvider(StaticCredentialsProvider.create(AwsBasicCredentials.create(config.accessKey(), config.secretKey())))
        .serviceConfiguration(S3Configuration.builder().pathStyleAccessEnabled(true).chunkedEncodingEnabled(false).build())
        .httpClient(UrlConnectionHttpClient.create())
        // send and check the newer flexible checksums only where S3 requires them: many
        // S3-compatible servers refuse the headers
        .requestChecksumCalculation(RequestChecksumCalculation.WHEN_REQUIRED)
        .responseChecksumValidation(ResponseChecksumValidation.WHEN_REQUIRED)
        .build();
  }

  private String key(String k) {
    return prefix + k;
  }

  private static IOException io(String what, SdkException e) {
    return new IOException("S3 " + what + " failed: " + e.getMessage(), e);
  }

  @Override
  public long size(String k) throws IOException {
    try {
      return s3.headObject(HeadObjectRequest.builder().bucket(bucket).key(key(k)).build()).contentLength();
    } catch (NoSuchKeyException e) {
      return -1;
    } catch (S3Exception e) {
      if (e.statusCode() == 404) {
        return -1;
      }
      throw io("HEAD " + k, e);
    } catch (SdkException e) {
      throw io("HEAD " + k, e);
    }
  }

  @Override
  public InputStream open(String k, long offset, long length) throws IOException {
    try {
      GetObjectRequest.Builder b = GetObjectRequest.builder().bucket(bucket).key(key(k));
      if (length > 0) {
        b.range("bytes=" + offset + "-" + (offset + length - 1));
      }
      return s3.getObject(b.build());
    } catch (SdkException e) {
      throw io("GET " + k, e);
    }
  }

  @Override
  public byte[] read(String k) throws IOException {
    try {
      return s3.getObjectAsBytes(GetObjectRequest.builder().bucket(bucket).key(key(k)).build()).asByteArray();
    } catch (NoSuchKeyException e) {
      return null;
    } catch (S3Exception e) {
      if (e.statusCode() == 404) {
        return null;
      }
      throw io("GET " + k, e);
    } catch (SdkException e) {
      throw io("GET " + k, e);
    }
  }

  @Override
  public void put(String k, Path file) throws IOException {
    try {
      s3.putObject(PutObjectRequest.builder().bucket(bucket).key(key(k)).build(), RequestBody.fromFile(file));
    } catch (SdkException e) {
      throw io("PUT " + k, e);
    } finally {
      Files.deleteIfExists(file);
    }
  }

  @Override
  public void put(String k, byte[] content) throws IOException {
    try {
      s3.putObject(PutObjectRequest.builder().bucket(bucket).key(key(k)).build(), RequestBody.fromBytes(content));
    } catch (SdkException e) {
      throw io("PUT " + k, e);
    }
  }

  /**
   * {@inheritDoc} A conditional PUT ({@code If-None-Match: *}), which AWS S3, MinIO and others
   * refuse with 412 when the key exists. A server that ignores the condition (s3proxy 2.6 does)
   * leaves only the moment between the HEAD before it and the PUT: a race between two servers there
   * can still replace.
   */
  @Override
  public boolean create(String k, byte[] content) throws IOException {
    if (size(k) >= 0) {
      return false;
    }
    try {
      s3.putObject(PutObjectRequest.builder().bucket(bucket).key(key(k)).ifNoneMatch("*").build(), RequestBody.fromBytes(content));
      return true;
    } catch (S3Exception e) {
      if (e.statusCode() == 412) {
        return false; // PreconditionFailed: an object is there
      }
      throw io("PUT " + k, e);
    } catch (SdkException e) {
      throw io("PUT " + k, e);
    }
  }

  @Override
  public void delete(String k) throws IOException {
    try {
      s3.deleteObject(DeleteObjectRequest.builder().bucket(bucket).key(key(k)).build());
    } catch (SdkException e) {
      throw io("DELETE " + k, e);
    }
  }

  @Override
  public List<String> list(String p) throws IOException {
    List<String> out = new ArrayList<>();
    try {
      for (S3Object o : s3.listObjectsV2Paginator(ListObjectsV2Request.builder().bucket(bucket).prefix(key(p)).build()).contents()) {
        out.add(o.key().substring(prefix.length()));
      }
    } catch (SdkException e) {
      throw io("LIST " + p, e);
    }
    return out;
  }

  @Override
  public Path scratch() {
    return scratch;
  }

  @Override
  public void close() {
    s3.close();
  }
}
