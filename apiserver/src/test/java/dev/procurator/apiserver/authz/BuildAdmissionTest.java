package dev.procurator.apiserver.authz;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.procurator.api.v1alpha1.Identities;
import dev.procurator.apiserver.auth.UserInfo;
import dev.procurator.apiserver.registry.ApiException;
import dev.procurator.apiserver.resource.ResourceRegistry;
import dev.procurator.apiserver.resource.ResourceType;
import java.util.List;
import org.junit.jupiter.api.Test;

class BuildAdmissionTest {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final ResourceType BUILDS = ResourceRegistry.standard().all().stream().filter(t -> t.plural().equals("builds")).findFirst()
      .orElseThrow();
  private static final UserInfo DAVE = new UserInfo("dave", List.of("devs", "system:authenticated"));
  private static final List<String> CACHES = List.of("http://cache.example.org:7444/");

  /** dave may get Secret "mine" only. */
  private static Decision authorize(Attributes a) {
    return "mine".equals(a.name()) ? Decision.allow("test") : Decision.deny("user \"dave\" cannot get secrets");
  }

  private static ObjectNode build(String spec) throws Exception {
    return (ObjectNode) JSON.readTree("{\"metadata\": {\"name\": \"b\", \"namespace\": \"default\", \"annotations\": {\"" + Identities.REQUESTER
        + "\": \"{\\\"username\\\": \\\"admin\\\"}\"}}, \"spec\": " + spec + "}");
  }

  private static void admit(ObjectNode old, ObjectNode object) {
    BuildAdmission.admit(DAVE, "default", BUILDS, old, object, () -> CACHES, BuildAdmissionTest::authorize);
  }

  @Test
  void theCreatorIsRecordedAtCreateAndKeptByUpdates() throws Exception {
    ObjectNode created = build("{\"flake\": \"path:/src\", \"attributes\": [\"a\"]}");
    admit(null, created);
    String recorded = created.at("/metadata/annotations").path(Identities.REQUESTER).asText();
    assertThat(Identities.User.ofAnnotation(recorded)).isEqualTo(new Identities.User("dave", DAVE.groups()));
    ObjectNode updated = build("{\"flake\": \"path:/src\", \"attributes\": [\"a\"]}");
    BuildAdmission.admit(new UserInfo("admin", List.of("system:masters")), "default", BUILDS, created, updated, () -> CACHES,
        a -> Decision.allow("admin"));
    assertThat(updated.at("/metadata/annotations").path(Identities.REQUESTER).asText()).isEqualTo(recorded);
  }

  @Test
  void aCacheMustBeRegisteredWhenItIsSetOrChanged() throws Exception {
    admit(null, build("{\"flake\": \"f\", \"attributes\": [\"a\"], \"cache\": \"http://CACHE.example.org:7444?compression=xz\"}"));
    ObjectNode bad = build("{\"flake\": \"f\", \"attributes\": [\"a\"], \"cache\": \"http://127.0.0.1:9\"}");
    assertThatThrownBy(() -> admit(null, bad)).isInstanceOfSatisfying(ApiException.class, e -> {
      assertThat(e.code()).isEqualTo(422);
      assertThat(e.getMessage()).contains("spec.cache", "is not a registered binary cache");
    });
    // an update that leaves an unregistered cache as it was is not refused for it (the builder refuses it)
    admit(bad, build("{\"flake\": \"f\", \"attributes\": [\"b\"], \"cache\": \"http://127.0.0.1:9\"}"));
  }

  @Test
  void theRequesterMustBeAllowedToGetTheCacheSecret() throws Exception {
    admit(null, build("{\"flake\": \"f\", \"attributes\": [\"a\"], \"cacheSecretRef\": {\"name\": \"mine\"}}"));
    assertThatThrownBy(() -> admit(null, build("{\"flake\": \"f\", \"attributes\": [\"a\"], \"cacheSecretRef\": {\"name\": \"theirs\"}}")))
        .isInstanceOfSatisfying(ApiException.class, e -> {
          assertThat(e.code()).isEqualTo(403);
          assertThat(e.getMessage()).contains("Secret \"theirs\"", "user \"dave\" may not get");
        });
  }
}
