package dev.procurator.apiserver.rest;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.procurator.apiserver.registry.ApiException;
import dev.procurator.apiserver.rest.RequestTarget.Kind;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

class RequestTargetTest {
  static Stream<Arguments> paths() {
    return Stream.of(
        Arguments.of("/apis/procurator.dev", new RequestTarget(Kind.GROUP, "procurator.dev", null, null, null, null, null)),
        Arguments.of("/apis/procurator.dev/v1alpha1/", new RequestTarget(Kind.VERSION, "procurator.dev", "v1alpha1", null, null, null, null)),
        Arguments.of("/api/v1", new RequestTarget(Kind.VERSION, "", "v1", null, null, null, null)),
        Arguments.of("/apis/procurator.dev/v1alpha1/vms",
            new RequestTarget(Kind.RESOURCE, "procurator.dev", "v1alpha1", null, "vms", null, null)),
        Arguments.of("/apis/procurator.dev/v1alpha1/namespaces/default/vms",
            new RequestTarget(Kind.RESOURCE, "procurator.dev", "v1alpha1", "default", "vms", null, null)),
        Arguments.of("/apis/procurator.dev/v1alpha1/namespaces/default/vms/web",
            new RequestTarget(Kind.RESOURCE, "procurator.dev", "v1alpha1", "default", "vms", "web", null)),
        Arguments.of("/apis/procurator.dev/v1alpha1/namespaces/default/vms/web/status",
            new RequestTarget(Kind.RESOURCE, "procurator.dev", "v1alpha1", "default", "vms", "web", "status")),
        Arguments.of("/apis/procurator.dev/v1alpha1/nodes/n1/", new RequestTarget(Kind.RESOURCE, "procurator.dev", "v1alpha1", null, "nodes", "n1", null)),
        Arguments.of("/api/v1/namespaces", new RequestTarget(Kind.RESOURCE, "", "v1", null, "namespaces", null, null)),
        Arguments.of("/api/v1/namespaces/team-a", new RequestTarget(Kind.RESOURCE, "", "v1", null, "namespaces", "team-a", null)),
        Arguments.of("/api/v1/namespaces/team-a/status", new RequestTarget(Kind.RESOURCE, "", "v1", null, "namespaces", "team-a", "status")),
        Arguments.of("/api/v1/namespaces/team-a/events", new RequestTarget(Kind.RESOURCE, "", "v1", "team-a", "events", null, null)),
        Arguments.of("/api/v1/namespaces/team-a/events/e1", new RequestTarget(Kind.RESOURCE, "", "v1", "team-a", "events", "e1", null)),
        // a group's resource called namespaces in a namespace is not the core Namespace
        Arguments.of("/apis/example.org/v1/namespaces/a/namespaces", new RequestTarget(Kind.RESOURCE, "example.org", "v1", "a", "namespaces", null, null)));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("paths")
  void parses(String path, RequestTarget expected) {
    assertThat(RequestTarget.parse(path)).isEqualTo(expected);
  }

  @ParameterizedTest(name = "{0}")
  @ValueSource(strings = {"/", "/api", "/apis", "/foo/v1/vms", "/apis/g/v1/namespaces/ns/vms/web/status/more", "/apis/g//v1/vms",
      "/apis/g/v1/vms//x", "apis/g/v1/vms"})
  void refusesWhatNamesNothing(String path) {
    assertThatThrownBy(() -> RequestTarget.parse(path)).isInstanceOfSatisfying(ApiException.class, e -> assertThat(e.code()).isEqualTo(404));
  }
}
