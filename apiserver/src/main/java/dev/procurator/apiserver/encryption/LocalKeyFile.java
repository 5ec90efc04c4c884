package dev.procurator.apiserver.encryption;

import dev.procurator.api.files.PrivateFiles;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import javax.crypto.Cipher;
import javax.crypto.spec.GCMParameterSpec;
import javax.crypto.spec.SecretKeySpec;

/**
 * Key-encryption keys in a local file, mode 0600: one {@code ID BASE64(32 bytes)} per line, the
 * first one current. Seeds are wrapped with AES-256-GCM under the key.
 */
public final class LocalKeyFile implements KeyProvider {
  private static final SecureRandom RANDOM = new SecureRandom();
  private final Path file;
  private final Map<String, byte[]> keys;

  private LocalKeyFile(Path file, Map<String, byte[]> keys) {
    this.file = file;
    this.keys = keys;
  }

  /** The keys in {@code file}; fails with the reason when it is missing, unreadable or malformed. */
  public static LocalKeyFile read(Path file) throws IOException {
    Map<String, byte[]> keys = new LinkedHashMap<>();
    int n = 0;
    for (String line : Files.readAllLines(file, StandardCharsets.UTF_8)) {
      n++;
      String l = line.strip();
      if (l.isEmpty() || l.startsWith("#")) {
        continue;
      }
      String[] parts = l.split("\\s+");
      byte[] key;
      try {
        key = parts.length == 2 ? Base64.getDecoder().decode(parts[1]) : null;
      } catch (IllegalArgumentException e) {
        key = null;
      }
      if (key == null || key.length != 32 || !parts[0].matches("[A-Za-z0-9._-]{1,64}")) {
        throw new IOException(file + " line " + n + ": expected \"ID BASE64\" with a 32-byte key");
      }
      keys.put(parts[0], key);
    }
    if (keys.isEmpty()) {
      throw new IOException(file + " holds no key");
    }
    return new LocalKeyFile(file, keys);
  }

  /** A new file with one fresh key, mode 0600. */
  public static LocalKeyFile create(Path file) throws IOException {
    byte[] key = new byte[32];
    RANDOM.nextBytes(key);
    write(file, List.of(newId() + " " + Base64.getEncoder().encodeToString(key)));
    return read(file);
  }

  /** Puts a fresh key first (the current one from now on), keeping the others for decryption; returns its id. */
  public static String addKey(Path file) throws IOException {
    LocalKeyFile old = read(file);
    byte[] key = new byte[32];
    RANDOM.nextBytes(key);
    String id = newId();
    List<String> lines = new ArrayList<>();
    lines.add(id + " " + Base64.getEncoder().encodeToString(key));
    old.keys.forEach((k, v) -> lines.add(k + " " + Base64.getEncoder().encodeToString(v)));
    write(file, lines);
    return id;
  }

  /** Drops key {@code id} (it must not be the current one). */
  public static void retire(Path file, String id) throws IOException {
    LocalKeyFile old = read(file);
    if (old.currentKeyId().equals(id)) {
      throw new IOException("key " + id + " is the current key: add a new one first");
    }
    if (!old.keys.containsKey(id)) {
      throw new IOException("no key " + id + " in " + file);
    }
    List<String> lines = new ArrayList<>();
    old.keys.forEach((k, v) -> {
      if (!k.equals(id)) {
        lines.add(k + " " + Base64.getEncoder().encodeToString(v));
      }
    });
    write(file, lines);
  }

  private static String newId() {
    return "key-" + java.time.LocalDate.now(java.time.ZoneOffset.UTC) + "-" + Long.toHexString(RANDOM.nextLong() & 0xffffffL);
  }

  private static void write(Path file, List<String> lines) throws IOException {
    PrivateFiles.write(file, String.join("\n", lines) + "\n");
  }

  public Path file() {
    return file;
  }

  @Override
  public String currentKeyId() {
    return keys.keySet().iterator().next();
  }

  @Override
  public List<String> keyIds() {
    return List.copyOf(keys.keySet());
  }

  @Override
  public byte[] wrap(byte[] seed) {
    try {
      byte[] nonce = new byte[12];
      RANDOM.nextBytes(nonce);
      Cipher c = Cipher.getInstance("AES/GCM/NoPadding");
      c.init(Cipher.ENCRYPT_MODE, new SecretKeySpec(keys.get(currentKeyId()), "AES"), new GCMParameterSpec(128, nonce));
      byte[] ct = c.doFinal(seed);
      byte[] out = new byte[12 + ct.length];
      System.arraycopy(nonce, 0, out, 0, 12);
      System.arraycopy(ct, 0, out, 12, ct.length);
      return out;
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("wrapping a seed failed", e);
    }
  }

  @Override
  public byte[] unwrap(String keyId, byte[] wrapped) {
    byte[] key = keys.get(keyId);
    if (key == null) {
      throw new IllegalStateException("key " + keyId + " is not in " + file);
    }
    try {
      Cipher c = Cipher.getInstance("AES/GCM/NoPadding");
      c.init(Cipher.DECRYPT_MODE, new SecretKeySpec(key, "AES"), new GCMParameterSpec(128, wrapped, 0, 12));
      return c.doFinal(wrapped, 12, wrapped.length - 12);
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("unwrapping a seed under key " + keyId + " failed: the key or the stored bytes are wrong", e);
    }
  }
}
