package dev.procurator.api.v1alpha1;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.MapperFeature;
import io.fabric8.kubernetes.api.model.apps.ControllerRevision;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Map;

/**
 * What names a Cluster template's revision: a hash of its VM spec, and the labels and names its VMs
 * and ControllerRevisions carry. The controller and pctl compute them the same way.
 */
public final class Revisions {
  /** Label on a Cluster's VMs and revisions: the Cluster's name. */
  public static final String CLUSTER_LABEL = "procurator.dev/cluster";
  /** Label on a Cluster's VMs and revisions: the template's name. */
  public static final String TEMPLATE_LABEL = "procurator.dev/template";
  /** Label on a Cluster's VMs and revisions: the revision's hash. */
  public static final String REVISION_LABEL = "procurator.dev/revision";
  /** Annotation on a ControllerRevision: how its rollout ended (Available, Failed). */
  public static final String OUTCOME_ANNOTATION = "procurator.dev/outcome";
  /** Annotation on a ControllerRevision: why it failed. */
  public static final String FAILURE_ANNOTATION = "procurator.dev/failure";

  private static final String ALPHABET = "bcdfghjklmnpqrstvwxz2456789";
  private static final ObjectMapper CANONICAL = JsonMapper.builder()
      .enable(SerializationFeature.ORDER_MAP_ENTRIES_BY_KEYS)
      .enable(MapperFeature.SORT_PROPERTIES_ALPHABETICALLY)
      .build();

  private static final ObjectMapper JSON = new ObjectMapper();

  private Revisions() {}

  /**
   * What a ControllerRevision of a Cluster holds in its {@code data}: {@code template} (the
   * template as it was, with its spec) and, when that spec boots a closure, {@code closure}. The
   * client hands {@code data} over as a {@code RawExtension} or a map, depending on how it was read;
   * this reads either. Empty when the revision has no data.
   */
  @SuppressWarnings("unchecked")
  public static Map<String, Object> data(ControllerRevision revision) {
    Object data = revision.getData();
    return data == null ? Map.of() : JSON.convertValue(data, Map.class);
  }

  /** The template a ControllerRevision recorded, or null when it holds none. */
  public static ClusterSpec.Template template(ControllerRevision revision) {
    Object template = data(revision).get("template");
    return template == null ? null : JSON.convertValue(template, ClusterSpec.Template.class);
  }

  /** The store path a ControllerRevision's template boots, or null when it boots files from the images directory. */
  public static String closure(ControllerRevision revision) {
    Object closure = data(revision).get("closure");
    return closure == null ? null : closure.toString();
  }

  /** A 10-character hash of {@code spec}, the same for equal specs whatever the order of their maps. */
  public static String hash(VMSpec spec) {
    try {
      byte[] digest = MessageDigest.getInstance("SHA-256").digest(CANONICAL.writeValueAsBytes(spec));
      StringBuilder sb = new StringBuilder(10);
      for (int i = 0; i < 10; i++) {
        sb.append(ALPHABET.charAt((digest[i] & 0xff) % ALPHABET.length()));
      }
      return sb.toString();
    } catch (NoSuchAlgorithmException | com.fasterxml.jackson.core.JsonProcessingException e) {
      throw new IllegalStateException(e);
    }
  }

  /** The ControllerRevision of a template revision: {@code CLUSTER-TEMPLATE-HASH}. */
  public static String revisionName(String cluster, String template, String hash) {
    return cluster + "-" + template + "-" + hash;
  }

  /** The generateName of a template revision's VMs: {@code CLUSTER-TEMPLATE-HASH-}. */
  public static String vmPrefix(String cluster, String template, String hash) {
    return revisionName(cluster, template, hash) + "-";
  }
}
