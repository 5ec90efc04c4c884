package dev.procurator.apiserver.registry;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.procurator.apiserver.resource.ResourceType;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.format.DateTimeParseException;

/**
 * Deletes Events last seen longer ago than the TTL, as the Kubernetes API server's {@code
 * --event-ttl} (one hour by default) does. An Event's last sighting is its {@code lastTimestamp},
 * else its series' last observation, its {@code eventTime}, or its creation. Works the same on
 * every store: a sweep lists the Events and deletes the old ones, so several API servers sweeping
 * at once only see each other's deletes as not found.
 */
public final class EventExpiry {
  private final ResourceService service;
  private final ResourceType events;
  private final Duration ttl;
  private final Clock clock;

  public EventExpiry(ResourceService service, ResourceType events, Duration ttl, Clock clock) {
    this.service = service;
    this.events = events;
    this.ttl = ttl;
    this.clock = clock;
  }

  /** Deletes every Event older than the TTL; returns how many went. */
  public int sweep() {
    Instant cutoff = clock.instant().minus(ttl);
    int deleted = 0;
    ListResult all = service.list(events, null, new ListOptions(LabelSelector.EVERYTHING, FieldSelector.EVERYTHING, 0, null, null));
    for (byte[] item : all.items()) {
      ObjectNode e = Json.readStored(item);
      Instant seen = lastSeen(e);
      if (seen != null && seen.isBefore(cutoff)) {
        JsonNode meta = e.path("metadata");
        try {
          service.delete(events, meta.path("namespace").asText(), meta.path("name").asText(), null, false);
          deleted++;
        } catch (ApiException gone) {
          if (gone.code() != 404 && gone.code() != 409) {
            throw gone;
          }
        }
      }
    }
    return deleted;
  }

  static Instant lastSeen(JsonNode e) {
    for (JsonNode t : new JsonNode[] {e.path("lastTimestamp"), e.path("series").path("lastObservedTime"), e.path("eventTime"),
        e.path("metadata").path("creationTimestamp")}) {
      if (t.isTextual() && !t.asText().isEmpty()) {
        try {
          return Instant.parse(t.asText());
        } catch (DateTimeParseException ignored) {
          // try the next one
        }
      }
    }
    return null;
  }
}
