package dev.procurator.pctl;

import java.math.BigDecimal;
import java.time.Duration;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import picocli.CommandLine;

/**
 * Durations as kubectl takes them ({@code 90s}, {@code 5m}, {@code 1h30m}, {@code 1.5h},
 * {@code 500ms}), plus {@code d} for days and a bare number for seconds, which earlier pctl
 * releases took.
 */
final class Durations {
  private static final Pattern PART = Pattern.compile("(\\d+(?:\\.\\d+)?)(ns|us|µs|ms|s|m|h|d)");
  private static final Pattern WHOLE = Pattern.compile("(?:" + PART.pattern() + ")+");

  private Durations() {}

  /** The duration {@code text} names; an IllegalArgumentException saying what is accepted otherwise. */
  static Duration parse(String text) {
    String s = text == null ? "" : text.trim();
    if (s.matches("\\d+")) {
      return Duration.ofSeconds(Long.parseLong(s));
    }
    if (!WHOLE.matcher(s).matches()) {
      throw new IllegalArgumentException("\"" + text + "\" is not a duration: use a number with a unit, such as 30s, 5m, 1h30m or 500ms");
    }
    BigDecimal nanos = BigDecimal.ZERO;
    Matcher m = PART.matcher(s);
    while (m.find()) {
      long unit = switch (m.group(2)) {
        case "ns" -> 1L;
        case "us", "µs" -> 1_000L;
        case "ms" -> 1_000_000L;
        case "s" -> 1_000_000_000L;
        case "m" -> 60_000_000_000L;
        case "h" -> 3_600_000_000_000L;
        default -> 86_400_000_000_000L;
      };
      nanos = nanos.add(new BigDecimal(m.group(1)).multiply(BigDecimal.valueOf(unit)));
    }
    try {
      return Duration.ofNanos(nanos.longValueExact());
    } catch (ArithmeticException e) {
      throw new IllegalArgumentException("\"" + text + "\" is too long a duration");
    }
  }

  /** For picocli options: a malformed value is a usage error (exit 2) naming the option and the value. */
  static final class Converter implements CommandLine.ITypeConverter<Duration> {
    @Override
    public Duration convert(String value) {
      try {
        return parse(value);
      } catch (IllegalArgumentException e) {
        throw new CommandLine.TypeConversionException(e.getMessage());
      }
    }
  }
}
