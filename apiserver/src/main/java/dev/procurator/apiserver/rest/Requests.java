package dev.procurator.apiserver.rest;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.procurator.apiserver.registry.ApiException;
import dev.procurator.apiserver.registry.FieldSelector;
import dev.procurator.apiserver.registry.Json;
import dev.procurator.apiserver.registry.LabelSelector;
import dev.procurator.apiserver.registry.ListOptions;
import dev.procurator.apiserver.registry.Protobuf;
import dev.procurator.apiserver.registry.WriteOptions;
import dev.procurator.apiserver.resource.ResourceType;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.ext.web.RoutingContext;
import java.util.List;
import java.util.Locale;

/** What a request says beside its path: its body, its options for writes, lists and deletes, and what it accepts. */
final class Requests {
  private Requests() {}

  /** Bodies this small parse in microseconds, so they may be handled on the event loop. */
  static final int EVENT_LOOP_BODY_BYTES = 64 * 1024;

  static boolean smallJson(RoutingContext ctx) {
    Buffer b = ctx.body().buffer();
    return contentType(ctx.request()).startsWith("application/json") && (b == null || b.length() <= EVENT_LOOP_BODY_BYTES);
  }

  /** The write options of a request, with the admission check its authorization attached, if any. */
  static WriteOptions writeOptions(RoutingContext ctx) {
    WriteOptions o = writeOptions(ctx.request());
    dev.procurator.apiserver.registry.Admission a = ctx.get(ADMISSION);
    return a == null ? o : o.withAdmission(a);
  }

  /** Where authorization leaves a write's admission check on the request. */
  static final String ADMISSION = "admission";

  static WriteOptions writeOptions(HttpServerRequest req) {
    String force = req.getParam("force");
    if (force != null && !force.equals("true") && !force.equals("false")) {
      throw ApiException.badRequest("force must be true or false, not \"" + force + "\"");
    }
    return WriteOptions.of(dryRun(req), req.getParam("fieldValidation"), req.getParam("fieldManager"),
        req.getHeader("User-Agent"), "true".equals(force));
  }

  /** DeleteOptions from the body, with a propagationPolicy in the query as kubectl --cascade may send it. */
  static ObjectNode deleteOptions(RoutingContext ctx) {
    byte[] raw = rawBody(ctx);
    ObjectNode opts = raw.length == 0 ? null : Json.parseObject(raw, false);
    String policy = ctx.request().getParam("propagationPolicy");
    if (policy != null) {
      opts = opts == null ? Json.object() : opts;
      opts.put("propagationPolicy", policy);
    }
    return opts;
  }

  static boolean dryRun(HttpServerRequest req) {
    List<String> values = req.params().getAll("dryRun");
    for (String v : values) {
      if (!v.equals("All")) {
        throw ApiException.badRequest("dryRun must be All, not \"" + v + "\"");
      }
    }
    return !values.isEmpty();
  }

  static String contentType(HttpServerRequest req) {
    String ct = req.getHeader("Content-Type");
    return ct == null ? "application/json" : ct.toLowerCase(Locale.ROOT).trim();
  }

  static byte[] rawBody(RoutingContext ctx) {
    Buffer b = ctx.body().buffer();
    return b == null ? new byte[0] : b.getBytes();
  }

  /** The body as an object: JSON, YAML, or the protobuf kubectl's typed clients send for core kinds. */
  static ObjectNode body(RoutingContext ctx) {
    String ct = contentType(ctx.request());
    boolean yaml = ct.startsWith("application/yaml") || ct.startsWith("application/x-yaml") || ct.startsWith("text/yaml");
    if (ct.startsWith(Protobuf.CONTENT_TYPE)) {
      return Protobuf.decode(rawBody(ctx));
    }
    if (!yaml && !ct.startsWith("application/json") && !ct.startsWith("*/*")) {
      throw ApiException.unsupportedMediaType("the body's content type \"" + ct + "\" is not supported; use application/json or application/yaml");
    }
    return Json.parseObject(rawBody(ctx), yaml);
  }

  static boolean wantsTable(HttpServerRequest req) {
    String accept = req.getHeader("Accept");
    return accept != null && accept.contains("as=Table");
  }

  static ListOptions listOptions(HttpServerRequest req, ResourceType type, boolean ignorePaging) {
    String limit = req.getParam("limit");
    int n;
    try {
      n = limit == null || limit.isEmpty() || ignorePaging ? 0 : Integer.parseInt(limit);
    } catch (NumberFormatException e) {
      throw ApiException.badRequest("limit must be a number, not \"" + limit + "\"");
    }
    return new ListOptions(LabelSelector.parse(req.getParam("labelSelector")),
        FieldSelector.parse(req.getParam("fieldSelector"), type), Math.max(n, 0),
        ignorePaging ? null : req.getParam("continue"), req.getParam("resourceVersion"));
  }
}
