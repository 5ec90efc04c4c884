package dev.procurator.apiserver.encryption;

import dev.procurator.apiserver.storage.KeyValue;
import dev.procurator.apiserver.storage.Storage;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;

/** Turns encryption at rest on for Secrets over a storage, refusing to start when a key they need is missing. */
public final class SecretsAtRest {
  private SecretsAtRest() {}

  /** Where Secrets are stored. */
  public static final String PREFIX = "/registry/procurator.dev/secrets/";

  /**
   * {@code raw} with Secrets sealed under the keys in {@code keyFile}. The file is created when it
   * is missing and no stored Secret is sealed yet; a missing file or key that sealed Secrets need
   * stops the server, rather than letting it serve ciphertext or seal new values under a new key.
   */
  public static EncryptingStorage open(Storage raw, Path keyFile) {
    Set<String> used = new TreeSet<>();
    int sealed = 0;
    for (KeyValue kv : raw.list(PREFIX, null, 0, 0).items()) {
      String id = Envelope.keyIdOf(kv.value());
      if (id != null) {
        used.add(id);
        sealed++;
      }
    }
    LocalKeyFile keys;
    try {
      if (Files.exists(keyFile)) {
        keys = LocalKeyFile.read(keyFile);
      } else if (sealed > 0) {
        throw new IllegalStateException("the encryption key file " + keyFile + " is missing, and " + sealed + " stored Secrets are sealed under "
            + used + ": restore it; the API server will not start without it");
      } else {
        keys = LocalKeyFile.create(keyFile);
      }
    } catch (IOException e) {
      throw new UncheckedIOException("reading the encryption key file: " + e.getMessage(), e);
    }
    Set<String> missing = new TreeSet<>(used);
    missing.removeAll(keys.keyIds());
    if (!missing.isEmpty()) {
      throw new IllegalStateException("stored Secrets are sealed under keys " + missing + " that " + keyFile
          + " does not hold: restore them; the API server will not start without them");
    }
    return new EncryptingStorage(raw, new Envelope(List.of(keys)), List.of(PREFIX));
  }
}
