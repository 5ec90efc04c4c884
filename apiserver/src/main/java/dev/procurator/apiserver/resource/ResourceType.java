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
 * @param storageResource where objects are kept, {@code GROUP/plural} (core: {@code core/plural}),
 *     when another type's storage holds them; null: this type's own
 * @param conversion how objects are turned into their stored form and back; null: stored as served
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
    List<String> selectableFields,
    String storageResource,
    Conversion conversion) {

  public ResourceType {
    Objects.requireNonNull(version);
    Objects.requireNonNull(kind);
    Objects.requireNonNull(plural);
    shortNames = List.copyOf(shortNames);
    printerColumns = List.copyOf(printerColumns);
    selectableFields = List.copyOf(selectableFields);
  }

  /** A type stored as it is served, under its own group and plural. */
  public ResourceType(String group, String version, String kind, String plural, String singular, List<String> shortNames,
      boolean namespaced, boolean statusSubresource, JsonNode schema, List<PrinterColumn> printerColumns,
      List<String> selectableFields) {
    this(group, version, kind, plural, singular, shortNames, namespaced, statusSubresource, schema, printerColumns,
        selectableFields, null, null);
  }

  /** This type kept in {@code storageResource} ({@code GROUP/plural}), converted by {@code conversion}. */
  public ResourceType storedAs(String storageResource, Conversion conversion) {
    return new ResourceType(group, version, kind, plural, singular, shortNames, namespaced, statusSubresource, schema,
        printerColumns, selectableFields, storageResource, conversion);
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
    String base = "/registry/" + (storageResource != null ? storageResource : (group.isEmpty() ? "core" : group) + "/" + plural) + "/";
    return namespaced && namespace != null ? base + namespace + "/" : base;
  }

  public String key(String namespace, String name) {
    return keyPrefix(namespace) + name;
  }
}
