package dev.procurator.apiserver.watch;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.procurator.apiserver.registry.Json;
import java.nio.charset.StandardCharsets;

/**
 * One change as clients see it: ADDED, MODIFIED or DELETED, with the object as JSON bytes (its
 * resourceVersion set) and, for selector transitions, the object before the change. The wire
 * frame and the parsed trees are computed once and shared by every watcher.
 */
public final class CachedEvent {
  private final String type;
  private final long revision;
  private final String key;
  private final byte[] object;
  private final byte[] previous;
  private volatile byte[] frame;
  private volatile ObjectNode parsed;
  private volatile ObjectNode parsedPrevious;

  public CachedEvent(String type, long revision, String key, byte[] object, byte[] previous) {
    this.type = type;
    this.revision = revision;
    this.key = key;
    this.object = object;
    this.previous = previous;
  }

  public String type() {
    return type;
  }

  public long revision() {
    return revision;
  }

  public String key() {
    return key;
  }

  public byte[] object() {
    return object;
  }

  public boolean hasPrevious() {
    return previous != null;
  }

  /** {@code {"type":"...","object":{...}}} and a newline. */
  public byte[] frame() {
    byte[] f = frame;
    if (f == null) {
      f = frame(type, object);
      frame = f;
    }
    return f;
  }

  public static byte[] frame(String type, byte[] object) {
    byte[] head = ("{\"type\":\"" + type + "\",\"object\":").getBytes(StandardCharsets.UTF_8);
    byte[] out = new byte[head.length + object.length + 2];
    System.arraycopy(head, 0, out, 0, head.length);
    System.arraycopy(object, 0, out, head.length, object.length);
    out[out.length - 2] = '}';
    out[out.length - 1] = '\n';
    return out;
  }

  public ObjectNode parsed() {
    ObjectNode p = parsed;
    if (p == null) {
      p = Json.readStored(object);
      parsed = p;
    }
    return p;
  }

  public ObjectNode parsedPrevious() {
    if (previous == null) {
      return null;
    }
    ObjectNode p = parsedPrevious;
    if (p == null) {
      p = Json.readStored(previous);
      parsedPrevious = p;
    }
    return p;
  }
}
