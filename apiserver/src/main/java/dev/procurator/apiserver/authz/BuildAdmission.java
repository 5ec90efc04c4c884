package dev.procurator.apiserver.authz;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.procurator.api.v1alpha1.BinaryCacheSpec;
import dev.procurator.api.v1alpha1.Identities;
import dev.procurator.apiserver.auth.UserInfo;
import dev.procurator.apiserver.registry.ApiException;
import dev.procurator.apiserver.resource.FieldError;
import dev.procurator.apiserver.resource.ResourceType;
import java.util.Collection;
import java.util.List;
import java.util.Objects;
import java.util.function.Function;
import java.util.function.Supplier;

/**
 * What a write of a Build must satisfy beside its schema, whoever writes it:
 *
 * <ul>
 *   <li>its creator is recorded in {@link Identities#REQUESTER}, by the server: set at create from
 *       the requesting user (the impersonated one, for GitOps), kept as it is by every update;
 *   <li>{@code spec.cache} names a registered BinaryCache (checked when it is set or changed): a
 *       push token is never sent to a cache an admin did not register (422 at {@code spec.cache});
 *   <li>the requester may {@code get} the Secret {@code spec.cacheSecretRef} names (checked when it
 *       is set or changed): naming a Secret is no way to use one the requester may not read (403).
 * </ul>
 *
 * Pure: the registered caches and the authorizer are given.
 */
final class BuildAdmission {
  private BuildAdmission() {}

  /** @param requestNamespace the request's namespace, for an object that names none */
  static void admit(UserInfo user, String requestNamespace, ResourceType type, ObjectNode old, ObjectNode object,
      Supplier<Collection<String>> registeredCaches, Function<Attributes, Decision> authorizer) {
    ObjectNode meta = object.path("metadata").isObject() ? (ObjectNode) object.get("metadata") : object.putObject("metadata");
    String recorded = old == null ? new Identities.User(user.name(), user.groups()).annotation()
        : old.path("metadata").path("annotations").path(Identities.REQUESTER).asText(null);
    if (recorded != null) {
      (meta.path("annotations").isObject() ? (ObjectNode) meta.get("annotations") : meta.putObject("annotations")).put(Identities.REQUESTER, recorded);
    } else if (meta.path("annotations").isObject()) {
      ((ObjectNode) meta.get("annotations")).remove(Identities.REQUESTER);
    }
    String name = meta.path("name").asText();
    String namespace = meta.path("namespace").asText("").isEmpty() ? requestNamespace : meta.path("namespace").asText();
    JsonNode spec = object.path("spec");
    JsonNode oldSpec = old == null ? null : old.path("spec");
    String cache = spec.path("cache").asText(null);
    if (cache != null && (oldSpec == null || !Objects.equals(cache, oldSpec.path("cache").asText(null)))
        && !BinaryCacheSpec.registered(cache, registeredCaches.get())) {
      throw ApiException.invalid(type, name, List.of(FieldError.invalid("spec.cache", cache,
          "is not a registered binary cache: a Build pushes only to a cache an admin registered as a BinaryCache "
              + "(kubectl get binarycaches), or, without spec.cache, to its builder's own")));
    }
    String secret = spec.path("cacheSecretRef").path("name").asText(null);
    if (secret != null && (oldSpec == null || !Objects.equals(secret, oldSpec.path("cacheSecretRef").path("name").asText(null)))) {
      Decision d = authorizer.apply(Attributes.resource(user, "get", "procurator.dev", "secrets", null, namespace, secret));
      if (!d.allowed()) {
        throw ApiException.forbidden(type.qualifiedResource() + " \"" + name + "\" is forbidden: spec.cacheSecretRef names Secret \"" + secret
            + "\", which user \"" + user.name() + "\" may not get in namespace \"" + namespace + "\"");
      }
    }
  }
}
