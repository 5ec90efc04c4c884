package dev.procurator.api.v1alpha1;

/** Name rules shared by the API types and the server. */
public final class Names {
  /** RFC 1123 subdomain: lower-case alphanumerics, '-' and '.', starting and ending alphanumeric. */
  public static final String DNS1123_SUBDOMAIN_PATTERN =
      "^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$";
  /** RFC 1123 label: at most 63 characters, lower-case alphanumerics and '-'. */
  public static final String DNS1123_LABEL_PATTERN = "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$";

  private Names() {}
}
