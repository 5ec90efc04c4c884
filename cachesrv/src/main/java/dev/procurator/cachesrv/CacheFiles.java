package dev.procurator.cachesrv;

import dev.procurator.api.files.PrivateFiles;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.HexFormat;

/**
 * The files a cache host keeps beside its store: the signing key ({@code cache-key.sec}, and
 * {@code cache-key.pub} for nix's trusted-public-keys), a push token ({@code cache-token}) and a
 * read token ({@code cache-read-token}). Made once, then reused across restarts.
 */
public final class CacheFiles {
  private final Path dir;

  public CacheFiles(Path dir) {
    this.dir = dir;
  }

  public Path publicKeyFile() {
    return dir.resolve("cache-key.pub");
  }

  public Path pushTokenFile() {
    return dir.resolve("cache-token");
  }

  public Path readTokenFile() {
    return dir.resolve("cache-read-token");
  }

  public SigningKey key(String name) throws IOException {
    Path secret = dir.resolve("cache-key.sec");
    SigningKey key;
    if (Files.exists(secret)) {
      key = SigningKey.parse(Files.readString(secret));
    } else {
      key = SigningKey.generate(name);
      PrivateFiles.write(secret, key.secretText() + "\n");
    }
    Files.writeString(publicKeyFile(), key.publicText() + "\n");
    return key;
  }

  public String pushToken() throws IOException {
    return token(pushTokenFile());
  }

  public String readToken() throws IOException {
    return token(readTokenFile());
  }

  private String token(Path file) throws IOException {
    if (Files.exists(file)) {
      String t = Files.readString(file).trim();
      if (!t.isEmpty()) {
        return t;
      }
    }
    byte[] b = new byte[24];
    new SecureRandom().nextBytes(b);
    String t = HexFormat.of().formatHex(b);
    PrivateFiles.write(file, t + "\n");
    return t;
  }
}
