package dev.procurator.apiserver.registry;

/** Query parameters of a list. {@code limit} 0 means everything. */
public record ListOptions(LabelSelector labels, FieldSelector fields, int limit, String continueToken, String resourceVersion) {
  public ListOptions {
    if (limit < 0) {
      throw ApiException.badRequest("limit must not be negative");
    }
  }
}
