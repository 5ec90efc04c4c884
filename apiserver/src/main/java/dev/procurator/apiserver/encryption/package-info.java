/**
 * Encryption at rest of Secrets, as Kubernetes' KMS v2 does it: every write is sealed with
 * AES-256-GCM under a key derived (HKDF-SHA256) from a seed and 32 random bytes, the seed is
 * wrapped by a key-encryption key from a {@link dev.procurator.apiserver.encryption.KeyProvider},
 * and the storage key is the additional authenticated data, so a value moved to another key does
 * not open. {@link dev.procurator.apiserver.encryption.EncryptingStorage} applies it under a
 * prefix of any storage.
 */
package dev.procurator.apiserver.encryption;
