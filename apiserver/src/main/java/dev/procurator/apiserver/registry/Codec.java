package dev.procurator.apiserver.registry;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.procurator.apiserver.storage.KeyValue;
import java.nio.charset.StandardCharsets;
import java.util.Iterator;
import java.util.Map;

/**
 * How objects are kept in storage: JSON with {@code metadata} as the first field and no
 * {@code resourceVersion} (the storage revision is the resourceVersion). Because metadata comes
 * first, a stored value can be served with its resourceVersion spliced in without parsing it,
 * which keeps large lists and watch fan-out cheap.
 */
public final class Codec {
  private static final byte[] HEAD = "{\"metadata\":{".getBytes(StandardCharsets.UTF_8);

  private Codec() {}

  /** Bytes to store: metadata first, resourceVersion removed. */
  public static byte[] encode(ObjectNode object) {
    ObjectNode ordered = Json.object();
    JsonNode meta = object.get("metadata");
    ObjectNode m = meta instanceof ObjectNode o ? o.deepCopy() : Json.object();
    m.remove("resourceVersion");
    ordered.set("metadata", m);
    for (Iterator<Map.Entry<String, JsonNode>> it = object.properties().iterator(); it.hasNext(); ) {
      Map.Entry<String, JsonNode> e = it.next();
      if (!e.getKey().equals("metadata")) {
        ordered.set(e.getKey(), e.getValue());
      }
    }
    return Json.bytes(ordered);
  }

  /** The stored object as a tree, with its resourceVersion. */
  public static ObjectNode decode(KeyValue kv) {
    ObjectNode o = Json.readStored(kv.value());
    ((ObjectNode) o.get("metadata")).put("resourceVersion", Long.toString(kv.modRevision()));
    return o;
  }

  /** The stored object as JSON bytes with {@code resourceVersion} set, without parsing it. */
  public static byte[] raw(byte[] stored, long resourceVersion) {
    if (!startsWithHead(stored)) {
      ObjectNode o = Json.readStored(stored);
      ((ObjectNode) o.get("metadata")).put("resourceVersion", Long.toString(resourceVersion));
      return Json.bytes(o);
    }
    boolean emptyMeta = stored.length > HEAD.length && stored[HEAD.length] == '}';
    byte[] rv = ("\"resourceVersion\":\"" + resourceVersion + "\"" + (emptyMeta ? "" : ",")).getBytes(StandardCharsets.UTF_8);
    byte[] out = new byte[stored.length + rv.length];
    System.arraycopy(stored, 0, out, 0, HEAD.length);
    System.arraycopy(rv, 0, out, HEAD.length, rv.length);
    System.arraycopy(stored, HEAD.length, out, HEAD.length + rv.length, stored.length - HEAD.length);
    return out;
  }

  private static boolean startsWithHead(byte[] stored) {
    if (stored.length < HEAD.length) {
      return false;
    }
    for (int i = 0; i < HEAD.length; i++) {
      if (stored[i] != HEAD[i]) {
        return false;
      }
    }
    return true;
  }

  /**
   * A list's JSON from its items' served bytes, written once into one array: the items are
   * copied as they are, never parsed.
   */
  public static byte[] list(String apiVersion, String kind, long resourceVersion, String continueToken, java.util.List<byte[]> items) {
    StringBuilder head = new StringBuilder();
    head.append("{\"apiVersion\":\"").append(apiVersion).append("\",\"kind\":\"").append(kind)
        .append("\",\"metadata\":{\"resourceVersion\":\"").append(resourceVersion).append('"');
    if (continueToken != null) {
      head.append(",\"continue\":\"").append(continueToken).append('"');
    }
    head.append("},\"items\":[");
    byte[] headBytes = head.toString().getBytes(StandardCharsets.UTF_8);
    int size = headBytes.length + 2 + items.size();
    for (byte[] item : items) {
      size += item.length;
    }
    byte[] out = new byte[size];
    System.arraycopy(headBytes, 0, out, 0, headBytes.length);
    int pos = headBytes.length;
    for (int i = 0; i < items.size(); i++) {
      if (i > 0) {
        out[pos++] = ',';
      }
      byte[] item = items.get(i);
      System.arraycopy(item, 0, out, pos, item.length);
      pos += item.length;
    }
    out[pos++] = ']';
    out[pos++] = '}';
    return pos == out.length ? out : java.util.Arrays.copyOf(out, pos);
  }
}
