package dev.procurator.apiserver.registry;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.procurator.apiserver.resource.FieldError;
import dev.procurator.apiserver.resource.ResourceType;
import java.util.List;
import org.junit.jupiter.api.Test;

/** A VM's health checks as admission sees them: none is accepted that no node agent would run. */
class KindRulesTest {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final ResourceType VM = type("VM", "vms");
  private static final ResourceType CLUSTER = type("Cluster", "clusters");

  private static ResourceType type(String kind, String plural) {
    return new ResourceType("procurator.dev", "v1alpha1", kind, plural, kind.toLowerCase(java.util.Locale.ROOT), List.of(), true, true,
        null, List.of(), List.of());
  }

  private static List<FieldError> vm(String spec) throws Exception {
    JsonNode object = JSON.readTree("{\"apiVersion\":\"procurator.dev/v1alpha1\",\"kind\":\"VM\",\"metadata\":{\"name\":\"w\"},\"spec\":"
        + spec + "}");
    return KindRules.validate(VM, object);
  }

  private static final String EXEC = "{\"type\":\"exec\",\"command\":[\"test\",\"-f\",\"/www/healthz\"]}";
  private static final String HTTP = "{\"type\":\"http\",\"port\":8080,\"path\":\"/healthz\"}";

  @Test
  void everyKindOfCheckIsAcceptedOnQemuWithUserOrTapNetworking() throws Exception {
    assertThat(vm("{\"cpu\":1,\"memory\":\"128Mi\",\"boot\":{\"kernel\":\"k\"},\"healthChecks\":[" + EXEC + "," + HTTP
        + ",{\"type\":\"tcp\",\"port\":22}]}")).isEmpty();
    assertThat(vm("{\"cpu\":1,\"memory\":\"128Mi\",\"hypervisor\":\"qemu\",\"boot\":{\"kernel\":\"k\"},\"network\":{\"mode\":\"tap\"},"
        + "\"healthChecks\":[" + HTTP + "," + EXEC + "]}")).isEmpty();
  }

  @Test
  void anExecCheckOnAHypervisorWithoutAGuestAgentChannelIsRefusedNamingTheField() throws Exception {
    for (String hv : List.of("firecracker", "cloud-hypervisor")) {
      List<FieldError> errors = vm("{\"cpu\":1,\"memory\":\"128Mi\",\"hypervisor\":\"" + hv + "\",\"boot\":{\"kernel\":\"k\"},"
          + "\"healthChecks\":[" + HTTP + "," + EXEC + "]}");
      assertThat(errors).singleElement().satisfies(e -> {
        assertThat(e.field()).isEqualTo("spec.healthChecks[1].type");
        assertThat(e.reason()).isEqualTo("FieldValueInvalid");
        assertThat(e.message()).contains("guest agent", "qemu", hv);
      });
    }
    JsonNode cluster = JSON.readTree("{\"metadata\":{\"name\":\"c\"},\"spec\":{\"templates\":[{\"name\":\"t\",\"replicas\":1,\"spec\":"
        + "{\"cpu\":1,\"memory\":\"128Mi\",\"hypervisor\":\"firecracker\",\"boot\":{\"kernel\":\"k\"},\"healthChecks\":[" + EXEC + "]}}]}}");
    assertThat(KindRules.validate(CLUSTER, cluster)).extracting(FieldError::field).containsExactly("spec.templates[0].spec.healthChecks[0].type");
  }
}
