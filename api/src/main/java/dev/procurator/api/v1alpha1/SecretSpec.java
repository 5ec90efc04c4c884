package dev.procurator.api.v1alpha1;

import com.fasterxml.jackson.annotation.JsonIgnore;
import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
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

  /** One value as UTF-8 text. */
  @JsonIgnore
  public Optional<String> text(String key) {
    return Optional.ofNullable(decoded().get(key)).map(b -> new String(b, StandardCharsets.UTF_8));
  }
}
