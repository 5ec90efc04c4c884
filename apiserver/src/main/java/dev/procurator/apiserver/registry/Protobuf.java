package dev.procurator.apiserver.registry;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.google.protobuf.CodedInputStream;
import com.google.protobuf.WireFormat;
import java.io.IOException;
import java.util.Arrays;

/**
 * Request bodies in Kubernetes' protobuf encoding ({@code application/vnd.kubernetes.protobuf}),
 * which kubectl's typed clients send for core kinds ({@code kubectl create namespace x}). Decodes
 * the envelope (the magic {@code k8s\0} and a {@code runtime.Unknown}) and, inside it, the kinds
 * this server serves in the core group, by the field numbers of Kubernetes' published
 * {@code generated.proto} files (k8s.io/api/core/v1, k8s.io/apimachinery/pkg/apis/meta/v1), into
 * the JSON object the rest of the server works on. Answers are always JSON, which kubectl accepts.
 */
public final class Protobuf {
  private Protobuf() {}

  public static final String CONTENT_TYPE = "application/vnd.kubernetes.protobuf";
  private static final byte[] MAGIC = {'k', '8', 's', 0};

  /** The object in {@code body}; a body that is not a protobuf this server reads is a 415 or 400 naming why. */
  public static ObjectNode decode(byte[] body) {
    if (body.length < MAGIC.length || !Arrays.equals(Arrays.copyOf(body, MAGIC.length), MAGIC)) {
      throw ApiException.badRequest("a protobuf body must start with the k8s\\0 magic");
    }
    try {
      CodedInputStream in = CodedInputStream.newInstance(body, MAGIC.length, body.length - MAGIC.length);
      String apiVersion = "";
      String kind = "";
      byte[] raw = null;
      String encoding = "";
      int tag;
      while ((tag = in.readTag()) != 0) {
        switch (WireFormat.getTagFieldNumber(tag)) {
          case 1 -> {
            CodedInputStream tm = CodedInputStream.newInstance(in.readByteArray());
            int t;
            while ((t = tm.readTag()) != 0) {
              switch (WireFormat.getTagFieldNumber(t)) {
                case 1 -> apiVersion = tm.readString();
                case 2 -> kind = tm.readString();
                default -> tm.skipField(t);
              }
            }
          }
          case 2 -> raw = in.readByteArray();
          case 3 -> encoding = in.readString();
          default -> in.skipField(tag);
        }
      }
      if (!encoding.isEmpty()) {
        throw ApiException.unsupportedMediaType("protobuf bodies with content encoding \"" + encoding + "\" are not supported");
      }
      if (raw == null) {
        throw ApiException.badRequest("the protobuf body holds no object");
      }
      ObjectNode out = Json.object();
      out.put("apiVersion", apiVersion);
      out.put("kind", kind);
      switch (apiVersion + "/" + kind) {
        case "v1/Namespace" -> namespace(CodedInputStream.newInstance(raw), out);
        default -> throw ApiException.unsupportedMediaType("protobuf bodies of " + (apiVersion.isEmpty() ? "this kind" : apiVersion + " " + kind)
            + " are not supported; send application/json");
      }
      return out;
    } catch (IOException e) {
      throw ApiException.badRequest("the protobuf body is malformed: " + e.getMessage());
    }
  }

  /** core/v1 Namespace: metadata = 1, spec = 2 (finalizers = 1), status = 3 (ignored on write). */
  private static void namespace(CodedInputStream in, ObjectNode out) throws IOException {
    int tag;
    while ((tag = in.readTag()) != 0) {
      switch (WireFormat.getTagFieldNumber(tag)) {
        case 1 -> out.set("metadata", objectMeta(CodedInputStream.newInstance(in.readByteArray())));
        case 2 -> {
          CodedInputStream spec = CodedInputStream.newInstance(in.readByteArray());
          ObjectNode s = out.putObject("spec");
          int t;
          while ((t = spec.readTag()) != 0) {
            if (WireFormat.getTagFieldNumber(t) == 1) {
              (s.has("finalizers") ? (ArrayNode) s.get("finalizers") : s.putArray("finalizers")).add(spec.readString());
            } else {
              spec.skipField(t);
            }
          }
        }
        default -> in.skipField(tag);
      }
    }
  }

  /**
   * meta/v1 ObjectMeta: name 1, generateName 2, namespace 3, resourceVersion 6, labels 11,
   * annotations 12, finalizers 14. What the server sets itself (uid, timestamps, generation,
   * managedFields) is not read from a request.
   */
  private static ObjectNode objectMeta(CodedInputStream in) throws IOException {
    ObjectNode m = Json.object();
    int tag;
    while ((tag = in.readTag()) != 0) {
      switch (WireFormat.getTagFieldNumber(tag)) {
        case 1 -> m.put("name", in.readString());
        case 2 -> m.put("generateName", in.readString());
        case 3 -> m.put("namespace", in.readString());
        case 6 -> m.put("resourceVersion", in.readString());
        case 11 -> entry(in, m, "labels");
        case 12 -> entry(in, m, "annotations");
        case 14 -> (m.has("finalizers") ? (ArrayNode) m.get("finalizers") : m.putArray("finalizers")).add(in.readString());
        default -> in.skipField(tag);
      }
    }
    return m;
  }

  /** One entry of a map<string, string>: a message with key 1 and value 2. */
  private static void entry(CodedInputStream in, ObjectNode meta, String field) throws IOException {
    CodedInputStream e = CodedInputStream.newInstance(in.readByteArray());
    String key = "";
    String value = "";
    int t;
    while ((t = e.readTag()) != 0) {
      switch (WireFormat.getTagFieldNumber(t)) {
        case 1 -> key = e.readString();
        case 2 -> value = e.readString();
        default -> e.skipField(t);
      }
    }
    (meta.has(field) ? (ObjectNode) meta.get(field) : meta.putObject(field)).put(key, value);
  }
}
