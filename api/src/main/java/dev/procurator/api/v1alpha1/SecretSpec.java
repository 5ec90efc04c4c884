package dev.procurator.api.v1alpha1;

import com.fasterxml.jackson.annotation.JsonIgnore;
import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;

/** Secret values: base64 in {@code data}, or plain text in {@code stringData}. */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record SecretSpec(
    @JsonPropertyDescription("Values, base64-encoded.") Map<String, String> data,
    @JsonPropertyDescription("Values as plain text; merged into data on write.") Map<String, String> stringData) {

  /** Every value, decoded: {@code data} with {@code stringData} over it, as the server merges them on write. */
  @JsonIgnore
  public Map<String, byte[]> decoded() {
    Map<String, byte[]> out = new TreeMap<>();
    if (data != null) {
      data.forEach((k, v) -> out.put(k, Base64.getDecoder().decode(v)));
    }
    if (stringData != null) {
      stringData.forEach((k, v) -> out.put(k, v.getBytes(StandardCharsets.UTF_8)));
    }
    return out;
  }

  /** The most characters a key may have, as in Kubernetes. */
  public static final int MAX_KEY_LENGTH = 253;

  private static final java.util.regex.Pattern KEY = java.util.regex.Pattern.compile("[-._a-zA-Z0-9]+");

  /**
   * Why {@code key} cannot name a value, worded as Kubernetes words it for a ConfigMap or Secret
   * key; empty when it can. A key becomes a file name in the guest, so {@code .}, {@code ..} and
   * names starting with {@code ..} are refused.
   */
  public static List<String> keyProblems(String key) {
    List<String> problems = new ArrayList<>();
    if (key.length() > MAX_KEY_LENGTH) {
      problems.add("must be no more than " + MAX_KEY_LENGTH + " characters");
    }
    if (!KEY.matcher(key).matches()) {
      problems.add("a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name', or 'KEY_NAME',"
          + " or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')");
    }
    if (key.equals(".")) {
      problems.add("must not be '.'");
    } else if (key.equals("..")) {
      problems.add("must not be '..'");
    } else if (key.startsWith("..")) {
      problems.add("must not start with '..'");
    }
    return problems;
  }

  /** One value as UTF-8 text. */
  @JsonIgnore
  public Optional<String> text(String key) {
    return Optional.ofNullable(decoded().get(key)).map(b -> new String(b, StandardCharsets.UTF_8));
  }
}
