package dev.procurator.apiserver.rest;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.procurator.apiserver.testing.TestApiServer;
import java.net.http.HttpResponse;
import java.util.List;
import org.junit.jupiter.api.Test;

/** kubectl get shows a kind's columns in the order its type declares them (Age last), not the generator's sorted order. */
class TableColumnsIT {
  private static final String TABLE = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json";

  private static List<String> columns(TestApiServer api, String path) throws Exception {
    HttpResponse<String> r = api.request("GET", path, null, null, TestApiServer.TOKEN, java.util.Map.of("Accept", TABLE));
    assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
    JsonNode table = new ObjectMapper().readTree(r.body());
    return table.path("columnDefinitions").findValuesAsText("name");
  }

  @Test
  void columnsComeInTheirDeclaredOrder() throws Exception {
    try (TestApiServer api = TestApiServer.embedded()) {
      assertThat(columns(api, "/apis/procurator.dev/v1alpha1/nodes"))
          .containsSubsequence("Name", "Ready", "CPU", "Memory", "CPU Used", "Memory Used", "VMs", "Hypervisors", "Age");
      assertThat(columns(api, "/apis/procurator.dev/v1alpha1/vms"))
          .containsSubsequence("Name", "Phase", "Node", "CPU", "Memory", "Hypervisor", "Message", "Age");
      assertThat(columns(api, "/apis/procurator.dev/v1alpha1/gitrepositories"))
          .containsSubsequence("Name", "URL", "Commit", "Ready", "Message", "Age");
    }
  }
}
