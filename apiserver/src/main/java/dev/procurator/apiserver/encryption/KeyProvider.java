package dev.procurator.apiserver.encryption;

import java.util.List;

/**
 * Where key-encryption keys live: a local key file, or (behind this same interface) a KMS or a
 * Vault transit engine. A provider wraps and unwraps the data-key seeds; the KEK itself never
 * leaves it. Providers are ordered: the first one's current key encrypts, every key of every
 * provider decrypts.
 */
public interface KeyProvider {
  /** The key new writes are sealed under. */
  String currentKeyId();

  /** Every key this provider can unwrap with. */
  List<String> keyIds();

  /** {@code seed} wrapped under the current key. */
  byte[] wrap(byte[] seed);

  /** The seed {@code wrapped} holds, wrapped under {@code keyId}; fails when that key is not here or the bytes were altered. */
  byte[] unwrap(String keyId, byte[] wrapped);
}
