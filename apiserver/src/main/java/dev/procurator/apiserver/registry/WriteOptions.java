package dev.procurator.apiserver.registry;

/**
 * Per-request write options.
 *
 * @param dryRun validate and answer as if written, but write nothing
 * @param fieldValidation {@code Strict} (unknown fields fail the request), {@code Warn} (they are
 *     dropped with a warning) or {@code Ignore} (dropped silently)
 */
public record WriteOptions(boolean dryRun, String fieldValidation) {
  public static final WriteOptions DEFAULT = new WriteOptions(false, "Warn");

  public WriteOptions {
    if (fieldValidation == null || fieldValidation.isEmpty()) {
      fieldValidation = "Warn";
    }
    if (!fieldValidation.equals("Strict") && !fieldValidation.equals("Warn") && !fieldValidation.equals("Ignore")) {
      throw ApiException.badRequest("fieldValidation must be Strict, Warn or Ignore, not \"" + fieldValidation + "\"");
    }
  }
}
