package dev.procurator.api.v1alpha1;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.MapperFeature;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;

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

  private Revisions() {}

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
