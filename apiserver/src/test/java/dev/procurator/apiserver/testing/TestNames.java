package dev.procurator.apiserver.testing;

import java.security.SecureRandom;
import java.util.Locale;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Pattern;

/**
 * Names for what tests create: namespaces, objects, tokens, store paths. Each is a valid DNS-1123
 * label, unique within this JVM (a counter) and across runs and machines (random bytes drawn once
 * per JVM), and depends on nothing about the machine: not its uptime, its clock, its locale or
 * its host name. Tests never build names from {@code System.nanoTime()}, whose origin is the boot.
 */
public final class TestNames {
  /** RFC 1123 label, as Kubernetes checks namespace and most object names. */
  public static final Pattern DNS_1123_LABEL = Pattern.compile("[a-z0-9]([-a-z0-9]*[a-z0-9])?");
  static final int MAX_LABEL = 63;
  private static final String ALPHABET = "0123456789abcdefghijklmnopqrstuvwxyz";
  private static final SecureRandom RANDOM = new SecureRandom();
  private static final String RUN = random(6);
  private static final AtomicLong SEQ = new AtomicLong();

  private TestNames() {}

  /**
   * {@code prefix-<run><n>}: a DNS-1123 label unique to this call. The prefix must itself be a
   * label (lower-case letters, digits, inner dashes); it is shortened when the whole would pass
   * 63 characters.
   */
  public static String unique(String prefix) {
    if (!DNS_1123_LABEL.matcher(prefix).matches()) {
      throw new IllegalArgumentException("prefix \"" + prefix + "\" is not a DNS-1123 label");
    }
    String suffix = RUN + Long.toString(SEQ.incrementAndGet(), 36);
    int room = MAX_LABEL - 1 - suffix.length();
    String head = prefix.length() > room ? prefix.substring(0, room).replaceAll("-+$", "") : prefix;
    return head + "-" + suffix;
  }

  /** {@code n} random characters from {@code [0-9a-z]}: for secret values and tokens that no other run may share. */
  public static String random(int n) {
    StringBuilder b = new StringBuilder(n);
    for (int i = 0; i < n; i++) {
      b.append(ALPHABET.charAt(RANDOM.nextInt(ALPHABET.length())));
    }
    return b.toString().toLowerCase(Locale.ROOT);
  }
}
