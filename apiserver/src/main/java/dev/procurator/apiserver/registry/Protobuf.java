package dev.procurator.apiserver.registry;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.google.protobuf.CodedInputStream;
import com.google.protobuf.WireFormat;
import java.io.IOException;
import java.util.Arrays;
import java.util.Map;

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
        case "rbac.authorization.k8s.io/v1/Role", "rbac.authorization.k8s.io/v1/ClusterRole" -> message(raw, ROLE, out);
        case "rbac.authorization.k8s.io/v1/RoleBinding", "rbac.authorization.k8s.io/v1/ClusterRoleBinding" -> message(raw, BINDING, out);
        case "authorization.k8s.io/v1/SelfSubjectAccessReview" -> message(raw, ACCESS_REVIEW, out);
        case "authorization.k8s.io/v1/SelfSubjectRulesReview" -> message(raw, RULES_REVIEW, out);
        default -> throw ApiException.unsupportedMediaType("protobuf bodies of " + (apiVersion.isEmpty() ? "this kind" : apiVersion + " " + kind)
            + " are not supported; send application/json");
      }
      return out;
    } catch (IOException e) {
      throw ApiException.badRequest("the protobuf body is malformed: " + e.getMessage());
    }
  }

  /** How a field of a message is read: its JSON name and what it holds. */
  private record Field(String name, Kind kind, Map<Integer, Field> message) {
    static Field string(String name) {
      return new Field(name, Kind.STRING, null);
    }

    static Field strings(String name) {
      return new Field(name, Kind.STRINGS, null);
    }

    static Field object(String name, Map<Integer, Field> message) {
      return new Field(name, Kind.MESSAGE, message);
    }

    static Field objects(String name, Map<Integer, Field> message) {
      return new Field(name, Kind.MESSAGES, message);
    }
  }

  private enum Kind { STRING, STRINGS, MESSAGE, MESSAGES, META }

  private static final Field METADATA = new Field("metadata", Kind.META, null);

  // k8s.io/api/rbac/v1/generated.proto
  private static final Map<Integer, Field> POLICY_RULE = Map.of(1, Field.strings("verbs"), 2, Field.strings("apiGroups"),
      3, Field.strings("resources"), 4, Field.strings("resourceNames"), 5, Field.strings("nonResourceURLs"));
  private static final Map<Integer, Field> ROLE = Map.of(1, METADATA, 2, Field.objects("rules", POLICY_RULE));
  private static final Map<Integer, Field> SUBJECT = Map.of(1, Field.string("kind"), 2, Field.string("apiGroup"), 3, Field.string("name"),
      4, Field.string("namespace"));
  private static final Map<Integer, Field> ROLE_REF = Map.of(1, Field.string("apiGroup"), 2, Field.string("kind"), 3, Field.string("name"));
  private static final Map<Integer, Field> BINDING = Map.of(1, METADATA, 2, Field.objects("subjects", SUBJECT), 3, Field.object("roleRef", ROLE_REF));
  // k8s.io/api/authorization/v1/generated.proto
  private static final Map<Integer, Field> RESOURCE_ATTRIBUTES = Map.of(1, Field.string("namespace"), 2, Field.string("verb"),
      3, Field.string("group"), 4, Field.string("version"), 5, Field.string("resource"), 6, Field.string("subresource"), 7, Field.string("name"));
  private static final Map<Integer, Field> NON_RESOURCE_ATTRIBUTES = Map.of(1, Field.string("path"), 2, Field.string("verb"));
  private static final Map<Integer, Field> ACCESS_REVIEW = Map.of(1, METADATA, 2, Field.object("spec",
      Map.of(1, Field.object("resourceAttributes", RESOURCE_ATTRIBUTES), 2, Field.object("nonResourceAttributes", NON_RESOURCE_ATTRIBUTES))));
  private static final Map<Integer, Field> RULES_REVIEW = Map.of(1, METADATA, 2, Field.object("spec", Map.of(1, Field.string("namespace"))));

  /** Reads a message by its field table into {@code out}; fields it does not name are skipped. */
  private static void message(byte[] raw, Map<Integer, Field> fields, ObjectNode out) throws IOException {
    CodedInputStream in = CodedInputStream.newInstance(raw);
    int tag;
    while ((tag = in.readTag()) != 0) {
      Field f = fields.get(WireFormat.getTagFieldNumber(tag));
      if (f == null) {
        in.skipField(tag);
        continue;
      }
      switch (f.kind()) {
        case STRING -> out.put(f.name(), in.readString());
        case STRINGS -> (out.has(f.name()) ? (ArrayNode) out.get(f.name()) : out.putArray(f.name())).add(in.readString());
        case META -> out.set(f.name(), objectMeta(CodedInputStream.newInstance(in.readByteArray())));
        case MESSAGE -> message(in.readByteArray(), f.message(), out.putObject(f.name()));
        case MESSAGES -> message(in.readByteArray(), f.message(),
            (out.has(f.name()) ? (ArrayNode) out.get(f.name()) : out.putArray(f.name())).addObject());
      }
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
