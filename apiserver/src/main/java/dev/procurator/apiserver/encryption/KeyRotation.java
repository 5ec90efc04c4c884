package dev.procurator.apiserver.encryption;

import dev.procurator.api.runtime.Backoff;
import dev.procurator.api.runtime.Controller;
import dev.procurator.api.runtime.Result;
import dev.procurator.api.runtime.Scheduler;
import java.time.Duration;
import dev.procurator.apiserver.storage.KeyValue;
import dev.procurator.apiserver.storage.ListPage;
import dev.procurator.apiserver.storage.Storage;
import dev.procurator.apiserver.storage.StorageException;
import java.io.IOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Key rotation for Secrets at rest. {@link #rotate} puts a new key first in the key file and seals
 * new writes under it; a background rewrap then rewrites every stored Secret not sealed under the
 * current key (or not sealed at all), one compare-and-swap at a time, so it never overwrites a
 * newer write. The rewrap is a control loop with one key: level-triggered (it reads what the
 * store holds, so a server killed in the middle finishes it when it starts again), and a pass that
 * fails is retried with backoff (1 s doubling to 5 min) until one completes. {@link #status} says how far it is; {@link
 * #retire} drops an old key once nothing needs it. Secrets stay readable throughout: every key in
 * the file opens.
 */
public final class KeyRotation implements AutoCloseable {
  /** The one key of the rewrap loop's queue: there is one thing to bring to its spec, the whole store. */
  private static final String STORE = "secrets";

  private static final Logger log = LoggerFactory.getLogger(KeyRotation.class);

  /** Where rotation stands: the keys, how many Secrets are sealed under each, and whether a rewrap runs. */
  public record Status(String currentKey, List<String> keys, int secrets, Map<String, Integer> sealedUnder, int unsealed, boolean rewrapping,
      String lastError) {}

  private final EncryptingStorage storage;
  private final Path keyFile;
  private final AtomicBoolean running = new AtomicBoolean();
  private final Controller<String> rewrapper;
  private volatile String lastError;
  private volatile boolean closed;

  public KeyRotation(EncryptingStorage storage, Path keyFile) {
    this(storage, keyFile, new Backoff<>(Duration.ofSeconds(1), Duration.ofMinutes(5)));
  }

  KeyRotation(EncryptingStorage storage, Path keyFile, Backoff<String> backoff) {
    this.storage = storage;
    this.keyFile = keyFile;
    this.rewrapper = new Controller<>("secrets-rewrap", key -> pass(), Scheduler.system(), backoff).start(1);
  }

  /** One rewrap pass; a failure is kept for {@link #status} and retried by the loop. */
  private Result pass() {
    running.set(true);
    try {
      rewrap();
      lastError = null;
      return Result.done();
    } catch (RuntimeException e) {
      lastError = e.getMessage();
      log.warn("secrets: rewrap stopped, retrying: {}", e.toString());
      throw e;
    } finally {
      running.set(false);
    }
  }

  /** Starts a rewrap when some Secret is not sealed under the current key (after a rotation that a restart cut short). */
  public KeyRotation resume() {
    Status s = status();
    if (s.unsealed() > 0 || s.sealedUnder().entrySet().stream().anyMatch(e -> !e.getKey().equals(s.currentKey()) && e.getValue() > 0)) {
      log.info("secrets: {} are not sealed under the current key {}: rewrapping", s.secrets() - s.sealedUnder().getOrDefault(s.currentKey(), 0),
          s.currentKey());
      startRewrap();
    }
    return this;
  }

  /** A new current key, and a rewrap of every Secret under it. Returns the new key's id. */
  public synchronized String rotate() throws IOException {
    String id = LocalKeyFile.addKey(keyFile);
    storage.use(new Envelope(List.of(LocalKeyFile.read(keyFile))));
    log.info("secrets: key {} is current; rewrapping every Secret under it", id);
    startRewrap();
    return id;
  }

  /** Drops key {@code id} from the key file; refused while it is current or some Secret is still sealed under it. */
  public synchronized void retire(String id) throws IOException {
    Status s = status();
    if (id.equals(s.currentKey())) {
      throw new IOException("key " + id + " is the current key: rotate to a new one first");
    }
    if (s.sealedUnder().getOrDefault(id, 0) > 0) {
      throw new IOException(s.sealedUnder().get(id) + " Secrets are still sealed under key " + id + ": wait for the rewrap to finish");
    }
    LocalKeyFile.retire(keyFile, id);
    storage.use(new Envelope(List.of(LocalKeyFile.read(keyFile))));
    log.info("secrets: key {} retired", id);
  }

  public Status status() {
    Map<String, Integer> under = new LinkedHashMap<>();
    int total = 0;
    int unsealed = 0;
    for (KeyValue kv : raw().list(SecretsAtRest.PREFIX, null, 0, 0).items()) {
      total++;
      String id = Envelope.keyIdOf(kv.value());
      if (id == null) {
        unsealed++;
      } else {
        under.merge(id, 1, Integer::sum);
      }
    }
    List<String> keys;
    try {
      keys = LocalKeyFile.read(keyFile).keyIds();
    } catch (IOException e) {
      keys = List.of();
    }
    return new Status(storage.envelope().currentKeyId(), keys, total, under, unsealed,
        running.get() || rewrapper.queue().length() > 0 || lastError != null, lastError);
  }

  private Storage raw() {
    return storage.raw();
  }

  private void startRewrap() {
    rewrapper.enqueue(STORE);
  }

  @Override
  public void close() {
    closed = true; // a pass stops at its next page: the storage is closed after this
    try {
      rewrapper.close();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  /** Rewrites every Secret not sealed under the current key; a page at a time. */
  void rewrap() {
    String start = null;
    int done = 0;
    while (true) {
      ListPage page = raw().list(SecretsAtRest.PREFIX, start, 0, 100);
      for (KeyValue kv : page.items()) {
        Envelope e = storage.envelope();
        if (e.currentKeyId().equals(Envelope.keyIdOf(kv.value()))) {
          continue;
        }
        byte[] plain = e.open(kv.key(), kv.value());
        try {
          raw().update(kv.key(), kv.modRevision(), e.seal(kv.key(), plain));
          done++;
        } catch (StorageException.Conflict | StorageException.NotFound raced) {
          // written or deleted meanwhile: a write through the API was sealed under the current key already
        }
      }
      if (!page.more() || page.items().isEmpty() || closed) {
        break;
      }
      start = page.items().getLast().key() + "\0";
    }
    log.info("secrets: rewrap done, {} rewritten under {}", done, storage.envelope().currentKeyId());
  }
}
