package dev.procurator.apiserver.rest;

import com.fasterxml.jackson.databind.JsonNode;
import dev.procurator.apiserver.registry.Json;
import java.util.List;

/** What a handler answers: the code, the JSON body, and warnings for the Warning header. */
record Reply(int code, byte[] body, List<String> warnings) {
  static Reply of(int code, JsonNode body) {
    return new Reply(code, Json.bytes(body), List.of());
  }
}
