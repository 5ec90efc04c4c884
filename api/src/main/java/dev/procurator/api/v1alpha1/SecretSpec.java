package dev.procurator.api.v1alpha1;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import java.util.Map;

/** Secret values: base64 in {@code data}, or plain text in {@code stringData}. */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record SecretSpec(
    @JsonPropertyDescription("Values, base64-encoded.") Map<String, String> data,
    @JsonPropertyDescription("Values as plain text; merged into data on write.") Map<String, String> stringData) {}
