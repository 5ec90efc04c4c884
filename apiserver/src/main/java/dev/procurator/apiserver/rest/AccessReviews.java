package dev.procurator.apiserver.rest;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.procurator.apiserver.auth.UserInfo;
import dev.procurator.apiserver.authz.Attributes;
import dev.procurator.apiserver.authz.Authorization;
import dev.procurator.apiserver.authz.Rule;
import dev.procurator.apiserver.registry.ApiException;
import dev.procurator.apiserver.registry.Json;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.ext.web.RoutingContext;
import java.util.List;

/**
 * What a request asks, for the authorizer; and {@code authorization.k8s.io/v1}
 * SelfSubjectAccessReview and SelfSubjectRulesReview, which {@code kubectl auth can-i} and
 * {@code kubectl auth can-i --list} send. Any authenticated user may ask about themselves; a
 * SubjectAccessReview, about any user, needs {@code create} on {@code subjectaccessreviews}
 * (nodes have it, to check what a Build's creator may read before using it for the Build).
 */
final class AccessReviews {
  static final String SELF_SUBJECT_ACCESS = "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews";
  static final String SELF_SUBJECT_RULES = "/apis/authorization.k8s.io/v1/selfsubjectrulesreviews";
  static final String SUBJECT_ACCESS = "/apis/authorization.k8s.io/v1/subjectaccessreviews";

  private AccessReviews() {}

  /** The request's attributes: its verb as Kubernetes names it, its resource, and its field selector. */
  static Attributes attributes(RoutingContext ctx, Target t) {
    HttpServerRequest req = ctx.request();
    boolean watch = "true".equals(req.getParam("watch")) || "1".equals(req.getParam("watch"));
    String verb = switch (req.method().name()) {
      case "GET", "HEAD" -> watch ? "watch" : t.name() != null ? "get" : "list";
      case "POST" -> "create";
      case "PUT" -> "update";
      case "PATCH" -> "patch";
      case "DELETE" -> t.name() != null ? "delete" : "deletecollection";
      default -> req.method().name().toLowerCase(java.util.Locale.ROOT);
    };
    String selector = req.getParam("fieldSelector");
    if (watch && t.name() != null) {
      selector = (selector == null || selector.isEmpty() ? "" : selector + ",") + "metadata.name=" + t.name();
    }
    UserInfo user = ctx.get("user");
    return Attributes.resource(user, verb, t.type().group(), t.type().plural(), t.subresource(), t.namespace(),
        watch ? null : t.name()).withFieldSelector(selector);
  }

  /** A SelfSubjectAccessReview answered: whether the caller may do what its spec names. */
  static ObjectNode access(RoutingContext ctx, Authorization az) {
    ObjectNode review = body(ctx, "SelfSubjectAccessReview");
    return answer(review, ctx.get("user"), az);
  }

  /** A SubjectAccessReview answered: whether {@code spec.user} with {@code spec.groups} may do what the spec names. */
  static ObjectNode subjectAccess(RoutingContext ctx, Authorization az) {
    UserInfo caller = ctx.get("user");
    if (az != null) {
      var d = az.authorize(Attributes.resource(caller, "create", "authorization.k8s.io", "subjectaccessreviews", null, null, null));
      if (!d.allowed()) {
        throw ApiException.forbidden("subjectaccessreviews.authorization.k8s.io is forbidden: " + d.reason());
      }
    }
    ObjectNode review = body(ctx, "SubjectAccessReview");
    JsonNode spec = review.path("spec");
    String name = text(spec, "user");
    if (name == null) {
      throw ApiException.badRequest("spec.user is required");
    }
    List<String> groups = new java.util.ArrayList<>();
    spec.path("groups").forEach(g -> groups.add(g.asText()));
    return answer(review, new UserInfo(name, groups), az);
  }

  private static ObjectNode answer(ObjectNode review, UserInfo user, Authorization az) {
    JsonNode spec = review.path("spec");
    Attributes a;
    if (spec.path("resourceAttributes").isObject()) {
      JsonNode r = spec.get("resourceAttributes");
      a = Attributes.resource(user, text(r, "verb"), text(r, "group") == null ? "" : text(r, "group"), text(r, "resource"),
          text(r, "subresource"), text(r, "namespace"), text(r, "name"));
      if (a.verb() == null || a.resource() == null) {
        throw ApiException.badRequest("spec.resourceAttributes needs a verb and a resource");
      }
    } else if (spec.path("nonResourceAttributes").isObject()) {
      JsonNode r = spec.get("nonResourceAttributes");
      a = Attributes.nonResource(user, text(r, "verb"), text(r, "path"));
      if (a.verb() == null || a.path() == null) {
        throw ApiException.badRequest("spec.nonResourceAttributes needs a verb and a path");
      }
    } else {
      throw ApiException.badRequest("spec needs resourceAttributes or nonResourceAttributes");
    }
    dev.procurator.apiserver.authz.Decision d = az == null ? null : az.authorize(a);
    ObjectNode status = review.putObject("status");
    status.put("allowed", d == null || d.allowed());
    if (d != null && !d.allowed()) {
      status.put("reason", d.reason());
    }
    return review;
  }

  /** A SelfSubjectRulesReview answered: every rule that lets the caller act in the spec's namespace. */
  static ObjectNode rules(RoutingContext ctx, Authorization az) {
    ObjectNode review = body(ctx, "SelfSubjectRulesReview");
    UserInfo user = ctx.get("user");
    String namespace = text(review.path("spec"), "namespace");
    List<Rule> rules = az == null ? List.of(Rule.resources(List.of("*"), List.of("*"), List.of("*")), Rule.urls(List.of("*"), List.of("*")))
        : az.rulesFor(user, namespace == null ? "default" : namespace);
    ObjectNode status = review.putObject("status");
    ArrayNode resources = status.putArray("resourceRules");
    ArrayNode urls = status.putArray("nonResourceRules");
    for (Rule r : rules) {
      if (r.nonResourceURLs().isEmpty()) {
        ObjectNode n = resources.addObject();
        strings(n, "verbs", r.verbs());
        strings(n, "apiGroups", r.apiGroups());
        strings(n, "resources", r.resources());
        if (!r.resourceNames().isEmpty()) {
          strings(n, "resourceNames", r.resourceNames());
        }
      } else {
        ObjectNode n = urls.addObject();
        strings(n, "verbs", r.verbs());
        strings(n, "nonResourceURLs", r.nonResourceURLs());
      }
    }
    // what every authenticated user may do whatever RBAC says: discovery, and asking about itself
    ObjectNode self = resources.addObject();
    strings(self, "verbs", List.of("create"));
    strings(self, "apiGroups", List.of("authorization.k8s.io"));
    strings(self, "resources", List.of("selfsubjectaccessreviews", "selfsubjectrulesreviews"));
    ObjectNode discovery = urls.addObject();
    strings(discovery, "verbs", List.of("get"));
    strings(discovery, "nonResourceURLs", List.of("/api", "/api/*", "/apis", "/apis/*", "/healthz", "/livez", "/readyz", "/openapi",
        "/openapi/*", "/version", "/version/"));
    status.put("incomplete", false);
    return review;
  }

  private static ObjectNode body(RoutingContext ctx, String kind) {
    var buffer = ctx.body().buffer();
    if (buffer == null || buffer.length() == 0) {
      throw ApiException.badRequest("a " + kind + " is required in the body");
    }
    String type = ctx.request().getHeader("Content-Type");
    ObjectNode review = type != null && type.startsWith(dev.procurator.apiserver.registry.Protobuf.CONTENT_TYPE)
        ? dev.procurator.apiserver.registry.Protobuf.decode(buffer.getBytes())
        : Json.parseObject(buffer.getBytes(), false);
    if (review.hasNonNull("kind") && !kind.equals(review.path("kind").asText())) {
      throw ApiException.badRequest("the body must be a " + kind + ", not " + review.path("kind").asText());
    }
    review.put("apiVersion", "authorization.k8s.io/v1").put("kind", kind);
    if (!review.path("metadata").isObject()) {
      review.putObject("metadata");
    }
    return review;
  }

  private static String text(JsonNode n, String field) {
    JsonNode v = n.get(field);
    return v == null || !v.isTextual() || v.asText().isEmpty() ? null : v.asText();
  }

  private static void strings(ObjectNode n, String field, List<String> values) {
    ArrayNode a = n.putArray(field);
    values.forEach(a::add);
  }
}
