package dev.procurator.api.text;

import java.time.Duration;

/** Durations as kubectl prints ages: 45s, 3m20s, 2h5m, 4d, 2y30d. Shared by the server's tables and pctl. */
public final class Ages {
  private Ages() {}

  /** Kubernetes' short form of {@code d} ({@code <invalid>} for a time well in the future). */
  public static String human(Duration d) {
    long s = d.getSeconds();
    if (s < -1) {
      return "<invalid>";
    }
    if (s < 0) {
      return "0s";
    }
    if (s < 120) {
      return s + "s";
    }
    long m = s / 60;
    if (m < 10) {
      return s % 60 == 0 ? m + "m" : m + "m" + (s % 60) + "s";
    }
    if (m < 180) {
      return m + "m";
    }
    long h = s / 3600;
    if (h < 8) {
      return m % 60 == 0 ? h + "h" : h + "h" + (m % 60) + "m";
    }
    if (h < 48) {
      return h + "h";
    }
    if (h < 24 * 8) {
      return h % 24 == 0 ? (h / 24) + "d" : (h / 24) + "d" + (h % 24) + "h";
    }
    if (h < 24 * 365 * 2) {
      return (h / 24) + "d";
    }
    if (h < 24 * 365 * 8) {
      long y = h / 24 / 365;
      long days = (h / 24) % 365;
      return days == 0 ? y + "y" : y + "y" + days + "d";
    }
    return (h / 24 / 365) + "y";
  }
}
