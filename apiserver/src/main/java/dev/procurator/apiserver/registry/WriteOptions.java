package dev.procurator.apiserver.registry;

/**
 * Per-request write options.
 *
 * @param dryRun validate and answer as if written, but write nothing
 * @param fieldValidation {@code Strict} (unknown fields fail the request), {@code Warn} (they are
 *     dropped with a warning) or {@code Ignore} (dropped silently)
 * @param fieldManager who makes the change, for {@code metadata.managedFields}: the request's
 *     {@code fieldManager}, or a name taken from its User-Agent
 * @param named whether the request named its field manager itself
 * @param force for server-side apply: take over fields other managers own instead of failing
 * @param admission a check of the object about to be stored, or null
 */
public record WriteOptions(boolean dryRun, String fieldValidation, String fieldManager, boolean named, boolean force, Admission admission) {
  public static final WriteOptions DEFAULT = new WriteOptions(false, "Warn", null, false, false, null);
  private static final int MAX_MANAGER = 128;

  public WriteOptions {
    if (fieldValidation == null || fieldValidation.isEmpty()) {
      fieldValidation = "Warn";
    }
    if (!fieldValidation.equals("Strict") && !fieldValidation.equals("Warn") && !fieldValidation.equals("Ignore")) {
      throw ApiException.badRequest("fieldValidation must be Strict, Warn or Ignore, not \"" + fieldValidation + "\"");
    }
    if (fieldManager != null && (fieldManager.length() > MAX_MANAGER || !fieldManager.chars().allMatch(c -> c >= 0x20 && c < 0x7f))) {
      throw ApiException.badRequest("fieldManager must be at most " + MAX_MANAGER + " printable ASCII characters");
    }
    if (fieldManager == null || fieldManager.isEmpty()) {
      fieldManager = "unknown";
      named = false;
    }
  }

  /** Options of a request: its fieldManager, or the User-Agent's program name (up to its first '/'), as Kubernetes names it. */
  public static WriteOptions of(boolean dryRun, String fieldValidation, String fieldManager, String userAgent, boolean force) {
    boolean named = fieldManager != null && !fieldManager.isEmpty();
    String manager = named ? fieldManager : fromUserAgent(userAgent);
    return new WriteOptions(dryRun, fieldValidation, manager, named, force, null);
  }

  /** These options with {@code a} checking the object about to be stored. */
  public WriteOptions withAdmission(Admission a) {
    return new WriteOptions(dryRun, fieldValidation, fieldManager, named, force, a);
  }

  private static String fromUserAgent(String userAgent) {
    if (userAgent == null || userAgent.isBlank()) {
      return null;
    }
    String program = userAgent.split("/", 2)[0].trim();
    StringBuilder sb = new StringBuilder();
    program.chars().filter(c -> c >= 0x20 && c < 0x7f).limit(MAX_MANAGER).forEach(c -> sb.append((char) c));
    return sb.isEmpty() ? null : sb.toString();
  }
}
