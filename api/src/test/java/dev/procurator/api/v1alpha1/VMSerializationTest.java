package dev.procurator.api.v1alpha1;

import static org.assertj.core.api.Assertions.assertThat;

import io.fabric8.kubernetes.client.utils.Serialization;
import org.junit.jupiter.api.Test;

class VMSerializationTest {
  @Test
  void enumsUseTheirManifestNamesBothWays() {
    String yaml = """
        apiVersion: procurator.dev/v1alpha1
        kind: VM
        metadata: {name: web}
        spec:
          cpu: 2
          memory: 256Mi
          hypervisor: cloud-hypervisor
          restartPolicy: OnFailure
          boot: {kernel: k, initrd: i, cmdline: c}
          network: {mode: tap, ports: [{guest: 80, host: 8080}]}
          healthChecks: [{type: http, port: 80, path: /}]
        """;
    VM vm = Serialization.unmarshal(yaml, VM.class);
    assertThat(vm.getSpec().hypervisor()).isEqualTo(Hypervisor.CLOUD_HYPERVISOR);
    assertThat(vm.getSpec().restartPolicy()).isEqualTo(RestartPolicy.ON_FAILURE);
    assertThat(vm.getSpec().network().mode()).isEqualTo(NetworkMode.TAP);
    assertThat(vm.getSpec().healthChecks().get(0).type()).isEqualTo(HealthCheckType.HTTP);

    String back = Serialization.asJson(vm);
    assertThat(back).contains("\"hypervisor\":\"cloud-hypervisor\"", "\"restartPolicy\":\"OnFailure\"", "\"mode\":\"tap\"")
        .doesNotContain("null");
  }
}
