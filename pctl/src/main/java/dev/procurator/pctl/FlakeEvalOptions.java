package dev.procurator.pctl;

import dev.procurator.api.nix.NixJail;
import java.time.Duration;
import picocli.CommandLine;
import picocli.CommandLine.Option;

/** The limits a GitRepository's flake is evaluated within ({@code source: Flake}), as flags of {@code pctl controllers} and {@code pctl up}. */
final class FlakeEvalOptions {
  /** Below this, nix with nixpkgs' lib cannot even start an evaluation. */
  static final long MIN_MEMORY = 64L << 20;

  @Option(names = "--flake-eval-timeout", defaultValue = "5m", converter = Timeout.class,
      description = "How long one evaluation of a GitRepository's flake may run before it is stopped (default: ${DEFAULT-VALUE}).")
  Duration timeout;

  @Option(names = "--flake-eval-memory", defaultValue = "4G", converter = Memory.class,
      description = "Address space one evaluation of a GitRepository's flake may map, such as 512M or 4G; 0: no cap (default: ${DEFAULT-VALUE}).")
  long memoryBytes;

  NixJail.Limits limits() {
    return new NixJail.Limits(timeout, memoryBytes);
  }

  /** A positive duration (30s, 5m, 1h). */
  static final class Timeout implements CommandLine.ITypeConverter<Duration> {
    @Override
    public Duration convert(String value) {
      Duration d = new Durations.Converter().convert(value);
      if (d.isZero() || d.isNegative()) {
        throw new CommandLine.TypeConversionException("an evaluation needs time: give a positive duration such as 30s or 5m, not \"" + value + "\"");
      }
      return d;
    }
  }

  /** 0, or a size of at least {@link #MIN_MEMORY}. */
  static final class Memory implements CommandLine.ITypeConverter<Long> {
    @Override
    public Long convert(String value) {
      long bytes;
      try {
        bytes = CacheCommand.parseSize(value);
      } catch (Errors.UserError | NumberFormatException e) {
        throw new CommandLine.TypeConversionException("\"" + value + "\" is not a size: use a number with K, M, G or T, such as 512M or 4G (0: no cap)");
      }
      if (bytes != 0 && bytes < MIN_MEMORY) {
        throw new CommandLine.TypeConversionException("\"" + value + "\" is too little for nix to evaluate anything: give at least 64M, or 0 for no cap");
      }
      return bytes;
    }
  }
}
