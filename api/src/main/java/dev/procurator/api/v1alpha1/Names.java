package dev.procurator.api.v1alpha1;

import java.util.regex.Pattern;

/**
 * Kubernetes' name rules, compiled once, shared by the API types (as schema patterns), the server
 * (metadata validation, selectors) and the components that take names on their command lines.
 */
public final class Names {
  /** RFC 1123 subdomain: lower-case alphanumerics, '-' and '.', starting and ending alphanumeric. */
  public static final String DNS1123_SUBDOMAIN_PATTERN =
      "^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$";
  /** RFC 1123 label: at most 63 characters, lower-case alphanumerics and '-'. */
  public static final String DNS1123_LABEL_PATTERN = "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$";

  public static final Pattern DNS1123_SUBDOMAIN = Pattern.compile(DNS1123_SUBDOMAIN_PATTERN);
  public static final Pattern DNS1123_LABEL = Pattern.compile(DNS1123_LABEL_PATTERN);
  /** The name part of a qualified name (label keys, annotation keys, finalizers): at most 63 characters. */
  public static final Pattern QUALIFIED_NAME = Pattern.compile("([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]");
  /** A label value: empty, or alphanumerics with '-', '_' and '.' inside; at most 63 characters. */
  public static final Pattern LABEL_VALUE = Pattern.compile("(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?");

  public static final int MAX_SUBDOMAIN_LENGTH = 253;
  public static final int MAX_LABEL_LENGTH = 63;

  public static final String SUBDOMAIN_MESSAGE = "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters,"
      + " '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is"
      + " '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";
  public static final String LABEL_MESSAGE = "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-',"
      + " and must start and end with an alphanumeric character (e.g. 'my-name', or '123-abc', regex used for validation is"
      + " '[a-z0-9]([-a-z0-9]*[a-z0-9])?')";

  private Names() {}

  /** Whether {@code s} is an RFC 1123 subdomain of at most 253 characters (object names, node names). */
  public static boolean isSubdomain(String s) {
    return s != null && s.length() <= MAX_SUBDOMAIN_LENGTH && DNS1123_SUBDOMAIN.matcher(s).matches();
  }

  /** Whether {@code s} is an RFC 1123 label of at most 63 characters (namespaces, template names). */
  public static boolean isLabel(String s) {
    return s != null && s.length() <= MAX_LABEL_LENGTH && DNS1123_LABEL.matcher(s).matches();
  }

  /** Whether {@code key} is {@code [prefix/]name}: a subdomain prefix and a qualified name (label and annotation keys). */
  public static boolean isQualifiedName(String key) {
    int slash = key.indexOf('/');
    String prefix = slash < 0 ? null : key.substring(0, slash);
    String name = slash < 0 ? key : key.substring(slash + 1);
    return (prefix == null || !prefix.isEmpty() && isSubdomain(prefix))
        && !name.isEmpty() && name.length() <= MAX_LABEL_LENGTH && QUALIFIED_NAME.matcher(name).matches();
  }

  /** Whether {@code v} is a valid label value. */
  public static boolean isLabelValue(String v) {
    return v != null && v.length() <= MAX_LABEL_LENGTH && LABEL_VALUE.matcher(v).matches();
  }
}
