package dev.procurator.apiserver.rest;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.procurator.apiserver.registry.ApiException;
import dev.procurator.apiserver.registry.Json;
import dev.procurator.apiserver.registry.ListResult;
import dev.procurator.apiserver.registry.ResourceService;
import dev.procurator.apiserver.registry.WriteOptions;
import dev.procurator.apiserver.registry.Written;
import dev.procurator.apiserver.resource.ResourceRegistry;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.ext.web.RoutingContext;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;

/** The writing verbs: create, update, patch (merge, JSON and server-side apply), delete and deletecollection. */
final class Writes {
  private final ResourceService service;

  Writes(ResourceService service) {
    this.service = service;
  }

  /** Writes only where they may go: not to read-only kinds, and to namespaced kinds only inside a namespace. */
  static void checkWritable(Target t, HttpMethod method) {
    if (ResourceRegistry.readOnly(t.type()) && method != HttpMethod.GET) {
      throw ApiException.methodNotAllowed(t.type().qualifiedResource() + " are read-only here: they are the kinds this server was built"
          + " with (crds/ in its source)");
    }
    if (t.type().namespaced() && t.namespace() == null && method != HttpMethod.GET) {
      throw ApiException.methodNotAllowed(t.type().qualifiedResource() + " are namespaced: " + method
          + " needs /namespaces/NAMESPACE/ in the path");
    }
  }

  /** A create that answers when storage completes: it never waits on a thread. */
  CompletableFuture<Written> createAsync(RoutingContext ctx, Target t) {
    checkWritable(t, HttpMethod.POST);
    return service.createAsync(t.type(), t.namespace(), Requests.body(ctx), Requests.writeOptions(ctx));
  }

  Reply handle(RoutingContext ctx, HttpMethod method, Target t) {
    HttpServerRequest req = ctx.request();
    WriteOptions options = Requests.writeOptions(ctx);
    if (t.name() == null) {
      if (method == HttpMethod.POST) {
        Written w = service.create(t.type(), t.namespace(), Requests.body(ctx), options);
        return new Reply(201, w.bytes(), w.warnings());
      } else if (method == HttpMethod.DELETE) {
        return deleteCollection(ctx, t);
      }
      throw ApiException.methodNotAllowed(method + " is not supported on a collection");
    }
    if (method == HttpMethod.PUT) {
      Written w = service.update(t.type(), t.namespace(), t.name(), Requests.body(ctx), t.status(), options);
      return new Reply(200, Json.bytes(w.object()), w.warnings());
    } else if (method == HttpMethod.PATCH) {
      return patch(ctx, t, options);
    } else if (method == HttpMethod.DELETE) {
      if (t.status()) {
        throw ApiException.methodNotAllowed("DELETE is not supported on the status subresource");
      }
      Written w = service.delete(t.type(), t.namespace(), t.name(), Requests.deleteOptions(ctx), Requests.dryRun(req));
      return Reply.of(200, w.object());
    }
    throw ApiException.methodNotAllowed(method + " is not supported");
  }

  private Reply patch(RoutingContext ctx, Target t, WriteOptions options) {
    String contentType = Requests.contentType(ctx.request());
    if (contentType.startsWith("application/strategic-merge-patch+json")) {
      throw ApiException.unsupportedMediaType("strategic merge patch is not supported for custom resources;"
          + " use application/merge-patch+json or application/json-patch+json");
    }
    if (contentType.startsWith("application/apply-patch")) {
      if (t.status()) {
        throw ApiException.methodNotAllowed("server-side apply of the status subresource is not supported");
      }
      Written w = service.apply(t.type(), t.namespace(), t.name(), Requests.rawBody(ctx), options);
      return new Reply(w.created() ? 201 : 200, Json.bytes(w.object()), w.warnings());
    }
    Written w = service.patch(t.type(), t.namespace(), t.name(), contentType, Requests.rawBody(ctx), t.status(), options);
    return new Reply(200, Json.bytes(w.object()), w.warnings());
  }

  private Reply deleteCollection(RoutingContext ctx, Target t) {
    HttpServerRequest req = ctx.request();
    ObjectNode opts = Requests.deleteOptions(ctx);
    ListResult all = service.list(t.type(), t.namespace(), Requests.listOptions(req, t.type(), true));
    List<ObjectNode> deleted = new ArrayList<>();
    for (byte[] item : all.items()) {
      ObjectNode o = Json.readStored(item);
      JsonNode meta = o.path("metadata");
      try {
        deleted.add(service.delete(t.type(), meta.path("namespace").asText(null), meta.path("name").asText(), opts, Requests.dryRun(req))
            .object());
      } catch (ApiException e) {
        if (e.code() != 404) {
          throw e;
        }
      }
    }
    ObjectNode list = Json.object();
    list.put("apiVersion", t.type().apiVersion());
    list.put("kind", t.type().kind() + "List");
    list.putObject("metadata");
    list.putArray("items").addAll(deleted);
    return Reply.of(200, list);
  }
}
