package dev.procurator.apiserver.resource;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import dev.procurator.api.v1alpha1.Kinds;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.apiextensions.v1.CustomResourceDefinition;
import io.fabric8.kubernetes.api.model.apiextensions.v1.CustomResourceDefinitionVersion;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/** Every resource type the server serves, looked up by group, version and plural. */
public final class ResourceRegistry {
  private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());
  private static final ObjectMapper JSON = new ObjectMapper();

  private final Map<String, ResourceType> byPath = new LinkedHashMap<>();
  private final List<CustomResourceDefinition> crds;

  public ResourceRegistry(Collection<ResourceType> types) {
    this(types, List.of());
  }

  private ResourceRegistry(Collection<ResourceType> types, List<CustomResourceDefinition> crds) {
    for (ResourceType t : types) {
      byPath.put(t.group() + "/" + t.version() + "/" + t.plural(), t);
    }
    this.crds = List.copyOf(crds);
  }

  /** The CRDs of the kinds this server was built with, as it serves them read-only. */
  public List<CustomResourceDefinition> crds() {
    return crds;
  }

  /** apiextensions.k8s.io/v1 CustomResourceDefinition: read-only, so that kubectl get crd shows what is served. */
  public static final String CRD_GROUP = "apiextensions.k8s.io";

  private static ResourceType customResourceDefinitions() {
    return new ResourceType(CRD_GROUP, "v1", "CustomResourceDefinition", "customresourcedefinitions", "customresourcedefinition",
        List.of("crd", "crds"), false, false, null,
        List.of(new ResourceType.PrinterColumn("Created At", "date", null, "when it was first served", 0, ".metadata.creationTimestamp")),
        List.of());
  }

  /** Whether writes of {@code type} come only from the server itself. */
  public static boolean readOnly(ResourceType type) {
    return CRD_GROUP.equals(type.group()) && type.plural().equals("customresourcedefinitions");
  }

  /** The Procurator kinds, from the CRDs generated into the api jar, plus the built-in kinds. */
  public static ResourceRegistry standard() {
    List<ResourceType> types = new ArrayList<>();
    List<CustomResourceDefinition> crds = new ArrayList<>();
    for (Class<? extends HasMetadata> kind : Kinds.ALL) {
      String resource = "META-INF/fabric8/" + HasMetadata.getPlural(kind) + "." + HasMetadata.getGroup(kind) + "-v1.yml";
      try (InputStream in = kind.getClassLoader().getResourceAsStream(resource)) {
        if (in == null) {
          throw new IllegalStateException("missing generated CRD " + resource);
        }
        CustomResourceDefinition crd = inDeclaredOrder(YAML.readValue(in, CustomResourceDefinition.class), kind);
        crds.add(crd);
        types.addAll(fromCrd(crd));
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }
    types.add(lease());
    types.add(namespace());
    types.add(coreEvent());
    types.add(event());
    types.add(controllerRevision());
    types.addAll(rbac());
    types.add(certificateSigningRequest());
    types.add(customResourceDefinitions());
    return new ResourceRegistry(types, crds);
  }

  /**
   * The CRD generator writes printer columns sorted by their JSONPath; tables show them in the
   * order the type declares them (CPU before CPU Used, Phase before Message).
   */
  static CustomResourceDefinition inDeclaredOrder(CustomResourceDefinition crd, Class<?> kind) {
    List<String> order = java.util.Arrays.stream(kind.getAnnotationsByType(io.fabric8.crd.generator.annotation.AdditionalPrinterColumn.class))
        .map(io.fabric8.crd.generator.annotation.AdditionalPrinterColumn::name).toList();
    for (var v : crd.getSpec().getVersions()) {
      if (v.getAdditionalPrinterColumns() != null) {
        List<io.fabric8.kubernetes.api.model.apiextensions.v1.CustomResourceColumnDefinition> cols = new ArrayList<>(v.getAdditionalPrinterColumns());
        cols.sort(java.util.Comparator.comparingInt(c -> order.indexOf(c.getName()) < 0 ? Integer.MAX_VALUE : order.indexOf(c.getName())));
        v.setAdditionalPrinterColumns(cols);
      }
    }
    return crd;
  }

  /** Every served version of a CRD as a resource type. */
  public static List<ResourceType> fromCrd(CustomResourceDefinition crd) {
    var spec = crd.getSpec();
    var names = spec.getNames();
    List<ResourceType> out = new ArrayList<>();
    for (CustomResourceDefinitionVersion v : spec.getVersions()) {
      if (!Boolean.TRUE.equals(v.getServed())) {
        continue;
      }
      JsonNode schema = v.getSchema() == null ? null : JSON.valueToTree(v.getSchema().getOpenAPIV3Schema());
      List<ResourceType.PrinterColumn> columns = new ArrayList<>();
      if (v.getAdditionalPrinterColumns() != null) {
        for (var c : v.getAdditionalPrinterColumns()) {
          columns.add(new ResourceType.PrinterColumn(c.getName(), c.getType(), c.getFormat(), c.getDescription(),
              c.getPriority() == null ? 0 : c.getPriority(), c.getJsonPath()));
        }
      }
      out.add(new ResourceType(spec.getGroup(), v.getName(), names.getKind(), names.getPlural(), names.getSingular(),
          names.getShortNames() == null ? List.of() : names.getShortNames(),
          "Namespaced".equals(spec.getScope()),
          v.getSubresources() != null && v.getSubresources().getStatus() != null,
          schema, columns,
          v.getSelectableFields() == null ? List.of()
              : v.getSelectableFields().stream().map(f -> f.getJsonPath().substring(1)).toList()));
    }
    return out;
  }

  /** coordination.k8s.io/v1 Lease, so that fabric8's LeaderElector works against this server. */
  private static ResourceType lease() {
    return new ResourceType("coordination.k8s.io", "v1", "Lease", "leases", "lease", List.of(), true, false, null,
        List.of(new ResourceType.PrinterColumn("Holder", "string", null, "holder identity", 0, ".spec.holderIdentity"),
            new ResourceType.PrinterColumn("Age", "date", null, "", 0, ".metadata.creationTimestamp")),
        List.of("spec.holderIdentity"));
  }

  /**
   * core/v1 Namespace. Namespaces also exist implicitly: any object may name any valid namespace,
   * so Namespace objects are optional records (kubectl create namespace works; nothing requires it).
   */
  private static ResourceType namespace() {
    return new ResourceType("", "v1", "Namespace", "namespaces", "namespace", List.of("ns"), false, false, null,
        List.of(new ResourceType.PrinterColumn("Age", "date", null, "", 0, ".metadata.creationTimestamp")), List.of());
  }

  /** Fields a field selector may use on Events, as Kubernetes allows them, with events.k8s.io's names for {@code regarding}. */
  private static final List<String> EVENT_FIELDS = List.of("involvedObject.kind", "involvedObject.namespace", "involvedObject.name",
      "involvedObject.uid", "involvedObject.apiVersion", "involvedObject.resourceVersion", "involvedObject.fieldPath", "reason",
      "reportingComponent", "source", "type");

  /** core/v1 Event: what happened to an object, as kubectl describe shows it. Expired an hour after it was last seen. */
  private static ResourceType coreEvent() {
    return new ResourceType("", "v1", "Event", "events", "event", List.of("ev"), true, false, null,
        List.of(new ResourceType.PrinterColumn("Last Seen", "date", null, "when it last happened", 0, ".lastTimestamp"),
            new ResourceType.PrinterColumn("Type", "string", null, "Normal or Warning", 0, ".type"),
            new ResourceType.PrinterColumn("Reason", "string", null, "why, in one word", 0, ".reason"),
            new ResourceType.PrinterColumn("Object", "string", "reference", "what it happened to", 0, ".involvedObject"),
            new ResourceType.PrinterColumn("Message", "string", null, "what happened", 0, ".message"),
            new ResourceType.PrinterColumn("Count", "integer", null, "how often", 1, ".count"),
            new ResourceType.PrinterColumn("From", "string", null, "who reported it", 1, ".source.component")),
        EVENT_FIELDS).storedAs(null, EventConversion.CORE);
  }

  /** events.k8s.io/v1 Event: the same objects as core Events, under the newer field names. */
  private static ResourceType event() {
    return new ResourceType("events.k8s.io", "v1", "Event", "events", "event", List.of("ev"), true, false, null,
        List.of(new ResourceType.PrinterColumn("Last Seen", "date", null, "when it last happened", 0, ".deprecatedLastTimestamp"),
            new ResourceType.PrinterColumn("Type", "string", null, "Normal or Warning", 0, ".type"),
            new ResourceType.PrinterColumn("Reason", "string", null, "why, in one word", 0, ".reason"),
            new ResourceType.PrinterColumn("Object", "string", "reference", "what it happened to", 0, ".regarding"),
            new ResourceType.PrinterColumn("Note", "string", null, "what happened", 0, ".note")),
        List.of("regarding.kind", "regarding.namespace", "regarding.name", "regarding.uid", "reason", "reportingController", "type"))
        .storedAs("core/events", EventConversion.EVENTS_V1);
  }

  /**
   * apps/v1 ControllerRevision: an immutable snapshot of what a controller rolled out (a Cluster
   * keeps one per template revision), named and shaped as Kubernetes' own.
   */
  private static ResourceType controllerRevision() {
    return new ResourceType("apps", "v1", "ControllerRevision", "controllerrevisions", "controllerrevision", List.of(), true, false,
        null, List.of(new ResourceType.PrinterColumn("Controller", "string", "reference", "the object it belongs to", 0,
                ".metadata.ownerReferences[0]"),
            new ResourceType.PrinterColumn("Revision", "integer", null, "the revision's number", 0, ".revision")),
        List.of());
  }

  /**
   * rbac.authorization.k8s.io/v1 Role, ClusterRole, RoleBinding and ClusterRoleBinding, in
   * Kubernetes' shape, evaluated by the server's authorizer.
   */
  private static List<ResourceType> rbac() {
    String g = "rbac.authorization.k8s.io";
    List<ResourceType.PrinterColumn> roleColumns = List.of(
        new ResourceType.PrinterColumn("Created At", "date", null, "when it was created", 0, ".metadata.creationTimestamp"));
    List<ResourceType.PrinterColumn> bindingColumns = List.of(
        new ResourceType.PrinterColumn("Role", "string", null, "the role it grants", 0, ".roleRef.name"),
        new ResourceType.PrinterColumn("Age", "date", null, "", 0, ".metadata.creationTimestamp"));
    return List.of(
        new ResourceType(g, "v1", "Role", "roles", "role", List.of(), true, false, null, roleColumns, List.of()),
        new ResourceType(g, "v1", "ClusterRole", "clusterroles", "clusterrole", List.of(), false, false, null, roleColumns, List.of()),
        new ResourceType(g, "v1", "RoleBinding", "rolebindings", "rolebinding", List.of(), true, false, null, bindingColumns, List.of()),
        new ResourceType(g, "v1", "ClusterRoleBinding", "clusterrolebindings", "clusterrolebinding", List.of(), false, false, null,
            bindingColumns, List.of()));
  }

  /**
   * certificates.k8s.io/v1 CertificateSigningRequest: how a node asks for its client certificate
   * (joining, and renewing), signed as it is created.
   */
  private static ResourceType certificateSigningRequest() {
    return new ResourceType("certificates.k8s.io", "v1", "CertificateSigningRequest", "certificatesigningrequests",
        "certificatesigningrequest", List.of("csr"), false, false, null,
        List.of(new ResourceType.PrinterColumn("SignerName", "string", null, "who signs it", 0, ".spec.signerName"),
            new ResourceType.PrinterColumn("Requestor", "string", null, "who asked", 0, ".spec.username"),
            new ResourceType.PrinterColumn("Age", "date", null, "", 0, ".metadata.creationTimestamp")),
        List.of());
  }

  public Optional<ResourceType> find(String group, String version, String plural) {
    return Optional.ofNullable(byPath.get(group + "/" + version + "/" + plural));
  }

  public Collection<ResourceType> all() {
    return byPath.values();
  }

  /** Groups in the order they were registered, each with its versions. */
  public Map<String, List<String>> groupVersions() {
    Map<String, List<String>> out = new LinkedHashMap<>();
    for (ResourceType t : byPath.values()) {
      List<String> versions = out.computeIfAbsent(t.group(), g -> new ArrayList<>());
      if (!versions.contains(t.version())) {
        versions.add(t.version());
      }
    }
    return out;
  }
}
