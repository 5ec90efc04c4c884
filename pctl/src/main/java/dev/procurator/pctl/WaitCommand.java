package dev.procurator.pctl;

import com.fasterxml.jackson.databind.JsonNode;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Predicate;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;

/**
 * {@code pctl wait --for=condition=Healthy vm/NAME --timeout=60s}, as kubectl wait: follows the
 * object until the condition holds (exit 0) or the timeout passes (exit 1).
 */
@Command(name = "wait", mixinStandardHelpOptions = true,
    description = "Wait for a condition on an object: --for=condition=NAME[=VALUE], or --for=delete.")
final class WaitCommand implements Callable<Integer> {
  @ParentCommand Pctl global;

  @Parameters(index = "0", paramLabel = "TYPE/NAME", description = "The object, such as vm/web.")
  String target;

  @Option(names = "--for", required = true, description = "condition=NAME (True), condition=NAME=VALUE, or delete.")
  String forWhat;

  @Option(names = "--timeout", defaultValue = "30s", converter = Durations.Converter.class,
      description = "How long to wait: 60s, 5m, 1h30m, ... (default ${DEFAULT-VALUE}).")
  Duration timeout;

  @Option(names = {"-n", "--namespace"}) String namespace;

  /** What is waited for, as a test of the object (null: the object is gone). */
  record Wanted(String description, Predicate<JsonNode> met, boolean deletion) {}

  static Wanted parse(String spec) {
    if (spec.equals("delete")) {
      return new Wanted("deletion", o -> o == null, true);
    }
    if (!spec.startsWith("condition=") || spec.length() == "condition=".length()) {
      throw new Errors.UserError("--for takes condition=NAME, condition=NAME=VALUE or delete, not \"" + spec + "\"");
    }
    String[] parts = spec.substring("condition=".length()).split("=", 2);
    String type = parts[0];
    String value = parts.length > 1 ? parts[1] : "True";
    return new Wanted("condition " + type + "=" + value, o -> {
      if (o == null) {
        return false;
      }
      for (JsonNode c : o.path("status").path("conditions")) {
        if (c.path("type").asText().equalsIgnoreCase(type)) {
          return c.path("status").asText().equalsIgnoreCase(value);
        }
      }
      return false;
    }, false);
  }

  @Override
  public Integer call() throws Exception {
    int slash = target.indexOf('/');
    if (slash <= 0 || slash == target.length() - 1) {
      throw new Errors.UserError("name the object as TYPE/NAME, such as vm/web");
    }
    Wanted wanted = parse(forWhat);
    Duration limit = timeout;
    ApiClient api = ApiClient.from(global);
    ApiClient.Kind kind = api.resolve(target.substring(0, slash));
    String name = target.substring(slash + 1);
    String ns = kind.namespaced() ? (namespace != null ? namespace : api.defaultNamespace()) : null;
    String label = kind.plural() + "/" + name;
    CompletableFuture<Boolean> done = new CompletableFuture<>();
    Thread follower = Thread.ofVirtual().start(() -> {
      try {
        while (!done.isDone()) {
          ApiClient.Response r = api.send("GET", kind.path(ns, name), null, null, "application/json");
          JsonNode now = r.code() == 404 ? null : r.code() == 200 ? ApiClient.JSON.readTree(r.body()) : null;
          if (r.code() != 200 && r.code() != 404) {
            throw ApiClient.serverError(r);
          }
          if (now == null && !wanted.deletion()) {
            throw new Errors.ServerError("Error from server (NotFound): " + kind.plural() + " \"" + name + "\" not found");
          }
          if (wanted.met().test(now)) {
            done.complete(true);
            return;
          }
          Map<String, String> q = ApiClient.params();
          q.put("watch", "1");
          q.put("fieldSelector", "metadata.name=" + name);
          q.put("resourceVersion", now.path("metadata").path("resourceVersion").asText());
          api.stream(kind.path(ns, null) + ApiClient.query(q), "application/json", event -> {
            String type = event.path("type").asText();
            if (type.equals("DELETED") && wanted.deletion()) {
              done.complete(true);
            } else if ((type.equals("ADDED") || type.equals("MODIFIED")) && wanted.met().test(event.path("object"))) {
              done.complete(true);
            }
            if (done.isDone()) {
              throw new Stop();
            }
          });
        }
      } catch (Stop stop) {
        // the condition holds
      } catch (Exception e) {
        done.completeExceptionally(e);
      }
    });
    try {
      done.get(limit.toMillis(), TimeUnit.MILLISECONDS);
      System.out.println(label + " " + (wanted.deletion() ? "deleted" : "condition met"));
      return 0;
    } catch (TimeoutException e) {
      System.err.println("error: timed out waiting for the " + wanted.description() + " on " + label);
      return 1;
    } catch (ExecutionException e) {
      throw e.getCause() instanceof Exception ex ? ex : e;
    } finally {
      done.complete(false);
      follower.interrupt();
    }
  }

  /** Ends a watch stream from inside its handler. */
  private static final class Stop extends RuntimeException {
    Stop() {
      super(null, null, false, false);
    }
  }
}
