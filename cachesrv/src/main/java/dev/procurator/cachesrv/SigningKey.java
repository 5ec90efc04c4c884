package dev.procurator.cachesrv;

import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.security.KeyFactory;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.PrivateKey;
import java.security.Signature;
import java.security.interfaces.EdECPrivateKey;
import java.security.interfaces.EdECPublicKey;
import java.security.spec.EdECPrivateKeySpec;
import java.security.spec.NamedParameterSpec;
import java.util.Arrays;
import java.util.Base64;

/**
 * An ed25519 binary cache key in nix's formats: secret {@code name:base64(seed ‖ public)} (64
 * bytes, as {@code nix-store --generate-binary-cache-key} writes it) and public
 * {@code name:base64(public)}.
 */
public final class SigningKey {
  private final String name;
  private final PrivateKey key;
  private final byte[] publicKey;

  private SigningKey(String name, PrivateKey key, byte[] publicKey) {
    this.name = name;
    this.key = key;
    this.publicKey = publicKey;
  }

  public String name() {
    return name;
  }

  /** Reads nix's secret key format. */
  public static SigningKey parse(String secret) {
    String s = secret.trim();
    int colon = s.indexOf(':');
    if (colon <= 0) {
      throw new IllegalArgumentException("a nix secret key is name:base64");
    }
    byte[] raw = Base64.getDecoder().decode(s.substring(colon + 1));
    if (raw.length != 64) {
      throw new IllegalArgumentException("a nix ed25519 secret key has 64 bytes, not " + raw.length);
    }
    try {
      PrivateKey key = KeyFactory.getInstance("Ed25519")
          .generatePrivate(new EdECPrivateKeySpec(NamedParameterSpec.ED25519, Arrays.copyOf(raw, 32)));
      return new SigningKey(s.substring(0, colon), key, Arrays.copyOfRange(raw, 32, 64));
    } catch (Exception e) {
      throw new IllegalArgumentException("not an ed25519 key: " + e.getMessage(), e);
    }
  }

  public static SigningKey generate(String name) {
    try {
      KeyPair kp = KeyPairGenerator.getInstance("Ed25519").generateKeyPair();
      byte[] seed = ((EdECPrivateKey) kp.getPrivate()).getBytes().orElseThrow();
      byte[] pub = encode((EdECPublicKey) kp.getPublic());
      byte[] secret = new byte[64];
      System.arraycopy(seed, 0, secret, 0, 32);
      System.arraycopy(pub, 0, secret, 32, 32);
      return parse(name + ":" + Base64.getEncoder().encodeToString(secret));
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }

  /** RFC 8032 encoding: y little-endian, the top bit holding x's parity. */
  private static byte[] encode(EdECPublicKey key) {
    BigInteger y = key.getPoint().getY();
    byte[] be = y.toByteArray();
    byte[] le = new byte[32];
    for (int i = 0; i < be.length && i < 32; i++) {
      le[i] = be[be.length - 1 - i];
    }
    if (key.getPoint().isXOdd()) {
      le[31] |= (byte) 0x80;
    }
    return le;
  }

  public String secretText() {
    byte[] seed = ((EdECPrivateKey) key).getBytes().orElseThrow();
    byte[] secret = new byte[64];
    System.arraycopy(seed, 0, secret, 0, 32);
    System.arraycopy(publicKey, 0, secret, 32, 32);
    return name + ":" + Base64.getEncoder().encodeToString(secret);
  }

  public String publicText() {
    return name + ":" + Base64.getEncoder().encodeToString(publicKey);
  }

  /** {@code name:base64(signature)} of {@code fingerprint}. */
  public String sign(String fingerprint) {
    try {
      Signature s = Signature.getInstance("Ed25519");
      s.initSign(key);
      s.update(fingerprint.getBytes(StandardCharsets.UTF_8));
      return name + ":" + Base64.getEncoder().encodeToString(s.sign());
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }
}
