package dev.procurator.apiserver.rest;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.procurator.apiserver.registry.Codec;
import dev.procurator.apiserver.registry.Json;
import dev.procurator.apiserver.registry.ListResult;
import dev.procurator.apiserver.registry.ResourceService;
import dev.procurator.apiserver.resource.ResourceType;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.ext.web.RoutingContext;
import java.time.Clock;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/** GET of one object or a collection, as JSON or as the Table kubectl asks for. */
final class Reads {
  private final ResourceService service;
  private final Clock clock;
  private final Map<ResourceType, TableConverter> tables = new ConcurrentHashMap<>();

  Reads(ResourceService service, Clock clock) {
    this.service = service;
    this.clock = clock;
  }

  TableConverter table(ResourceType type) {
    return tables.computeIfAbsent(type, t -> new TableConverter(t, clock));
  }

  Reply get(RoutingContext ctx, Target t) {
    HttpServerRequest req = ctx.request();
    ObjectNode o = service.get(t.type(), t.namespace(), t.name());
    if (Requests.wantsTable(req)) {
      return Reply.of(200, table(t.type()).table(List.of(o), null, null, req.getParam("includeObject")));
    }
    return Reply.of(200, o);
  }

  Reply list(RoutingContext ctx, Target t) {
    HttpServerRequest req = ctx.request();
    ListResult r = service.list(t.type(), t.namespace(), Requests.listOptions(req, t.type(), false));
    if (Requests.wantsTable(req)) {
      List<ObjectNode> objects = r.items().stream().map(Json::readStored).toList();
      return Reply.of(200, table(t.type()).table(objects, Long.toString(r.resourceVersion()), r.continueToken(),
          req.getParam("includeObject")));
    }
    return new Reply(200, Codec.list(t.type().apiVersion(), t.type().kind() + "List", r.resourceVersion(), r.continueToken(), r.items()),
        List.of());
  }
}
