package dev.procurator.apiserver.resource;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.List;
import java.util.Objects;

/**
 * One kind the server serves at one group/version.
 *
 * @param schema the OpenAPI v3 structural schema of the whole object, or null to accept any shape
 * @param selectableFields field paths (without the leading dot) a field selector may use, besides
 *     {@code metadata.name} and {@code metadata.namespace}
 */
public record ResourceType(
    String group,
    String version,
    String kind,
    String plural,
    String singular,
    List<String> shortNames,
    boolean namespaced,
    boolean statusSubresource,
    JsonNode schema,
    List<PrinterColumn> printerColumns,
    List<String> selectableFields) {

  public ResourceType {
    Objects.requireNonNull(version);
    Objects.requireNonNull(kind);
    Objects.requireNonNull(plural);
    shortNames = List.copyOf(shortNames);
    printerColumns = List.copyOf(printerColumns);
    selectableFields = List.copyOf(selectableFields);
  }

  /** A column of {@code kubectl get} output. */
  public record PrinterColumn(String name, String type, String format, String description, int priority, String jsonPath) {}

  public String apiVersion() {
    return group.isEmpty() ? version : group + "/" + version;
  }

  /** {@code VM.procurator.dev}, as Kubernetes names a kind in messages. */
  public String qualifiedKind() {
    return group.isEmpty() ? kind : kind + "." + group;
  }

  /** {@code vms.procurator.dev}, as Kubernetes names a resource in messages. */
  public String qualifiedResource() {
    return group.isEmpty() ? plural : plural + "." + group;
  }

  /** The storage prefix of every object of this type in {@code namespace} (null: all namespaces). */
  public String keyPrefix(String namespace) {
    String base = "/registry/" + (group.isEmpty() ? "core" : group) + "/" + plural + "/";
    return namespaced && namespace != null ? base + namespace + "/" : base;
  }

  public String key(String namespace, String name) {
    return keyPrefix(namespace) + name;
  }
}
