package dev.procurator.apiserver.encryption;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.SecureRandom;
import java.util.Arrays;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import javax.crypto.Cipher;
import javax.crypto.spec.GCMParameterSpec;
import javax.crypto.spec.SecretKeySpec;

/**
 * Seals and opens values. A sealed value is
 * {@code procurator:enc:v1:} + key id (1-byte length) + wrapped seed (2-byte length) + 32 random
 * bytes + 12-byte nonce + AES-256-GCM ciphertext and tag, where the data key is HKDF-SHA256 of the
 * seed with the random bytes as salt, and the storage key is the additional authenticated data.
 * One seed per key-encryption key and process; seeds read back are unwrapped once and kept.
 */
public final class Envelope {
  static final byte[] MAGIC = "procurator:enc:v1:".getBytes(StandardCharsets.US_ASCII);
  private static final byte[] INFO = "procurator secret data key".getBytes(StandardCharsets.US_ASCII);
  private static final SecureRandom RANDOM = new SecureRandom();

  private final List<KeyProvider> providers;
  private final String keyId;
  private final byte[] seed;
  private final byte[] wrappedSeed;
  private final Map<String, byte[]> unwrapped = new ConcurrentHashMap<>();

  /** {@code providers} in order: the first one's current key seals. */
  public Envelope(List<KeyProvider> providers) {
    if (providers.isEmpty()) {
      throw new IllegalArgumentException("no key provider");
    }
    this.providers = List.copyOf(providers);
    KeyProvider first = providers.getFirst();
    this.keyId = first.currentKeyId();
    this.seed = new byte[32];
    RANDOM.nextBytes(seed);
    this.wrappedSeed = first.wrap(seed);
    unwrapped.put(cacheKey(keyId, wrappedSeed), seed);
  }

  /** The key new values are sealed under. */
  public String currentKeyId() {
    return keyId;
  }

  /** Whether {@code value} is sealed (values written before encryption was on are not). */
  public static boolean sealed(byte[] value) {
    return value.length > MAGIC.length && Arrays.equals(value, 0, MAGIC.length, MAGIC, 0, MAGIC.length);
  }

  /** The key id {@code value} is sealed under, or null when it is not sealed. */
  public static String keyIdOf(byte[] value) {
    if (!sealed(value)) {
      return null;
    }
    int len = value[MAGIC.length] & 0xff;
    return new String(value, MAGIC.length + 1, len, StandardCharsets.US_ASCII);
  }

  public byte[] seal(String storageKey, byte[] plaintext) {
    try {
      byte[] salt = new byte[32];
      RANDOM.nextBytes(salt);
      byte[] nonce = new byte[12];
      RANDOM.nextBytes(nonce);
      Cipher c = Cipher.getInstance("AES/GCM/NoPadding");
      c.init(Cipher.ENCRYPT_MODE, new SecretKeySpec(Hkdf.derive(seed, salt, INFO, 32), "AES"), new GCMParameterSpec(128, nonce));
      c.updateAAD(storageKey.getBytes(StandardCharsets.UTF_8));
      byte[] ct = c.doFinal(plaintext);
      byte[] id = keyId.getBytes(StandardCharsets.US_ASCII);
      ByteBuffer out = ByteBuffer.allocate(MAGIC.length + 1 + id.length + 2 + wrappedSeed.length + 32 + 12 + ct.length);
      out.put(MAGIC).put((byte) id.length).put(id).putShort((short) wrappedSeed.length).put(wrappedSeed).put(salt).put(nonce).put(ct);
      return out.array();
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("sealing a value failed", e);
    }
  }

  /** The plaintext of {@code value} stored at {@code storageKey}; an unsealed value is returned as it is. */
  public byte[] open(String storageKey, byte[] value) {
    if (!sealed(value)) {
      return value;
    }
    try {
      ByteBuffer in = ByteBuffer.wrap(value);
      in.position(MAGIC.length);
      byte[] id = new byte[in.get() & 0xff];
      in.get(id);
      byte[] wrapped = new byte[in.getShort() & 0xffff];
      in.get(wrapped);
      byte[] salt = new byte[32];
      in.get(salt);
      byte[] nonce = new byte[12];
      in.get(nonce);
      byte[] ct = new byte[in.remaining()];
      in.get(ct);
      String kid = new String(id, StandardCharsets.US_ASCII);
      byte[] s = unwrapped.computeIfAbsent(cacheKey(kid, wrapped), k -> unwrap(kid, wrapped));
      Cipher c = Cipher.getInstance("AES/GCM/NoPadding");
      c.init(Cipher.DECRYPT_MODE, new SecretKeySpec(Hkdf.derive(s, salt, INFO, 32), "AES"), new GCMParameterSpec(128, nonce));
      c.updateAAD(storageKey.getBytes(StandardCharsets.UTF_8));
      return c.doFinal(ct);
    } catch (GeneralSecurityException | java.nio.BufferUnderflowException e) {
      throw new IllegalStateException("the value at " + storageKey + " does not open: it was altered, or sealed for another key", e);
    }
  }

  private byte[] unwrap(String kid, byte[] wrapped) {
    for (KeyProvider p : providers) {
      if (p.keyIds().contains(kid)) {
        return p.unwrap(kid, wrapped);
      }
    }
    throw new IllegalStateException("no key provider has key " + kid);
  }

  /** Whether some provider has {@code kid}. */
  public boolean knows(String kid) {
    return providers.stream().anyMatch(p -> p.keyIds().contains(kid));
  }

  private static String cacheKey(String kid, byte[] wrapped) {
    return kid + "/" + Base64.getEncoder().encodeToString(wrapped);
  }
}
