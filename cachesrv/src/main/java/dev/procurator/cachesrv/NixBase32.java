package dev.procurator.cachesrv;

/**
 * Nix's base-32: the alphabet {@code 0123456789abcdfghijklmnpqrsvwxyz} (no e, o, u, t), with the
 * bytes read from the end, as nix prints hashes and store path hash parts.
 */
public final class NixBase32 {
  static final String ALPHABET = "0123456789abcdfghijklmnpqrsvwxyz";

  private NixBase32() {}

  public static int encodedLength(int bytes) {
    return (bytes * 8 - 1) / 5 + 1;
  }

  public static String encode(byte[] hash) {
    int len = encodedLength(hash.length);
    StringBuilder sb = new StringBuilder(len);
    for (int n = len - 1; n >= 0; n--) {
      int b = n * 5;
      int i = b / 8;
      int j = b % 8;
      int c = ((hash[i] & 0xff) >> j) | (i >= hash.length - 1 ? 0 : (hash[i + 1] & 0xff) << (8 - j));
      sb.append(ALPHABET.charAt(c & 0x1f));
    }
    return sb.toString();
  }

  /** Decodes {@code s} into {@code bytes} bytes; throws IllegalArgumentException on a bad character or length. */
  public static byte[] decode(String s, int bytes) {
    if (s.length() != encodedLength(bytes)) {
      throw new IllegalArgumentException("a " + bytes + "-byte nix-base32 hash has " + encodedLength(bytes) + " characters, not " + s.length());
    }
    byte[] out = new byte[bytes];
    for (int n = 0; n < s.length(); n++) {
      int digit = ALPHABET.indexOf(s.charAt(s.length() - n - 1));
      if (digit < 0) {
        throw new IllegalArgumentException("'" + s.charAt(s.length() - n - 1) + "' is not a nix-base32 character");
      }
      int b = n * 5;
      int i = b / 8;
      int j = b % 8;
      out[i] |= (byte) (digit << j);
      int carry = digit >> (8 - j);
      if (i < bytes - 1) {
        out[i + 1] |= (byte) carry;
      } else if (carry != 0) {
        throw new IllegalArgumentException("nix-base32 hash has bits beyond its length");
      }
    }
    return out;
  }

  public static boolean isHashPart(String s) {
    if (s.length() != 32) {
      return false;
    }
    for (int i = 0; i < s.length(); i++) {
      if (ALPHABET.indexOf(s.charAt(i)) < 0) {
        return false;
      }
    }
    return true;
  }
}
