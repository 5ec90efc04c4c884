package dev.procurator.api.v1alpha1;

/** Patterns for Kubernetes-style quantities used in specs. */
public final class Quantities {
  /** A non-negative byte quantity: a number with an optional binary or decimal suffix. */
  public static final String MEMORY_PATTERN = "^[0-9]+(\\.[0-9]+)?(Ki|Mi|Gi|Ti|Pi|k|M|G|T|P)?$";

  private Quantities() {}

  /** Bytes in a memory quantity such as {@code 256Mi}, rounded up. */
  public static long bytes(String quantity) {
    return io.fabric8.kubernetes.api.model.Quantity.getAmountInBytes(new io.fabric8.kubernetes.api.model.Quantity(quantity))
        .setScale(0, java.math.RoundingMode.UP).longValue();
  }
}
