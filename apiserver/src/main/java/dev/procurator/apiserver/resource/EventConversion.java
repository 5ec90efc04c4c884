package dev.procurator.apiserver.resource;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.Map;

/**
 * Events are stored as core {@code v1} Events, whose fields are a superset of {@code
 * events.k8s.io/v1}'s under other names. Whichever API writes an Event, the stored object is
 * completed so that both read well: a core client (kubectl describe) finds {@code count},
 * {@code firstTimestamp}, {@code lastTimestamp} and {@code source}; an events.k8s.io client finds
 * {@code eventTime}, {@code series} and {@code reportingController}.
 */
public final class EventConversion {
  /** events.k8s.io/v1 field → core/v1 field, where the names differ. */
  private static final Map<String, String> RENAMED = Map.of(
      "regarding", "involvedObject",
      "note", "message",
      "reportingController", "reportingComponent",
      "deprecatedSource", "source",
      "deprecatedFirstTimestamp", "firstTimestamp",
      "deprecatedLastTimestamp", "lastTimestamp",
      "deprecatedCount", "count");

  /** How core v1 Events are stored: completed, otherwise as sent. */
  public static final Conversion CORE = new Conversion() {
    @Override
    public ObjectNode toStorage(ObjectNode served) {
      return complete(served);
    }

    @Override
    public ObjectNode toServed(ObjectNode stored) {
      return stored;
    }
  };

  /** How events.k8s.io/v1 Events are stored: renamed to core v1 and completed. */
  public static final Conversion EVENTS_V1 = new Conversion() {
    @Override
    public ObjectNode toStorage(ObjectNode served) {
      RENAMED.forEach((from, to) -> move(served, from, to));
      served.put("apiVersion", "v1");
      return complete(served);
    }

    @Override
    public ObjectNode toServed(ObjectNode stored) {
      RENAMED.forEach((to, from) -> move(stored, from, to));
      stored.put("apiVersion", "events.k8s.io/v1");
      return stored;
    }
  };

  private EventConversion() {}

  private static void move(ObjectNode o, String from, String to) {
    JsonNode v = o.remove(from);
    if (v != null && !v.isNull()) {
      o.set(to, v);
    }
  }

  /** Fills the core fields from the newer ones and the other way round, where one side is missing. */
  static ObjectNode complete(ObjectNode e) {
    String eventTime = text(e, "eventTime");
    String first = text(e, "firstTimestamp");
    String last = text(e, "lastTimestamp");
    JsonNode series = e.path("series");
    String seriesLast = series.path("lastObservedTime").asText("");
    if (first.isEmpty() && !eventTime.isEmpty()) {
      e.put("firstTimestamp", seconds(eventTime));
      first = e.get("firstTimestamp").asText();
    }
    if (!seriesLast.isEmpty()) {
      e.put("lastTimestamp", seconds(seriesLast));
    } else if (last.isEmpty() && !first.isEmpty()) {
      e.put("lastTimestamp", first);
    }
    if (eventTime.isEmpty() && !first.isEmpty()) {
      e.put("eventTime", micro(first));
    }
    if (series.path("count").isNumber()) {
      e.put("count", series.path("count").asInt());
    } else if (!e.path("count").isNumber()) {
      e.put("count", 1);
    }
    String component = text(e, "reportingComponent");
    if (!component.isEmpty() && e.path("source").path("component").asText("").isEmpty()) {
      ObjectNode source = e.path("source") instanceof ObjectNode s ? s : e.putObject("source");
      source.put("component", component);
      if (e.hasNonNull("reportingInstance") && !source.hasNonNull("host")) {
        source.put("host", e.get("reportingInstance").asText());
      }
    } else if (component.isEmpty() && !e.path("source").path("component").asText("").isEmpty()) {
      e.put("reportingComponent", e.path("source").path("component").asText());
    }
    return e;
  }

  private static String text(ObjectNode o, String field) {
    JsonNode v = o.get(field);
    return v == null || v.isNull() ? "" : v.asText();
  }

  /** An RFC 3339 time with fractional seconds, cut to whole seconds as core timestamps are. */
  private static String seconds(String time) {
    int dot = time.indexOf('.');
    return dot < 0 ? time : time.substring(0, dot) + "Z";
  }

  /** An RFC 3339 time in whole seconds, as the microsecond form eventTime takes. */
  private static String micro(String time) {
    return time.endsWith("Z") && time.indexOf('.') < 0 ? time.substring(0, time.length() - 1) + ".000000Z" : time;
  }
}
