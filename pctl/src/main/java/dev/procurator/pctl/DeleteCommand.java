package dev.procurator.pctl;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;

/** Deletes resources by type and name, or those named in manifests. */
@Command(name = "delete", mixinStandardHelpOptions = true, description = "Delete resources by name or from manifests.")
final class DeleteCommand implements Callable<Integer> {
  @ParentCommand Pctl global;

  @Parameters(arity = "0..*", paramLabel = "TYPE NAME...", description = "A type and names (or use -f).")
  List<String> args = new ArrayList<>();

  @Option(names = {"-f", "--filename"}, description = "Files, directories, or - for standard input.")
  List<String> files = new ArrayList<>();

  @Option(names = {"-n", "--namespace"}, description = "Namespace (default: the kubeconfig's, else default).")
  String namespace;

  @Option(names = {"-o", "--output"}, description = "name: print only TYPE/NAME of each object.")
  String output;

  @Option(names = "--ignore-not-found", description = "Succeed when an object is already gone.")
  boolean ignoreNotFound;

  @Option(names = "--wait", negatable = true, defaultValue = "true", fallbackValue = "true",
      description = "Wait until the objects are gone (finalizers done: a VM is stopped first); --no-wait returns at once.")
  boolean waitForGone;

  @Option(names = "--timeout", defaultValue = "120s", converter = Durations.Converter.class,
      description = "How long to wait with --wait: 90s, 5m, ... (default: ${DEFAULT-VALUE}).")
  java.time.Duration timeout;

  private final List<String> pending = new ArrayList<>();

  @Override
  public Integer call() {
    if (output != null && !output.equals("name")) {
      throw new Errors.UserError("delete prints -o name only, not \"" + output + "\"");
    }
    if (files.isEmpty() && args.size() < 2) {
      throw new Errors.UserError("give a type and at least one name, or -f with manifests");
    }
    ApiClient api = ApiClient.from(global);
    int failures = 0;
    if (!files.isEmpty()) {
      for (Manifests.Doc doc : Manifests.read(files, System.in)) {
        ObjectNode o = doc.object();
        String kindName = o.path("kind").asText();
        ApiClient.Kind kind = api.byKind(o.path("apiVersion").asText(), kindName)
            .orElseThrow(() -> new Errors.UserError("no kind \"" + kindName + "\" is served"));
        String ns = o.path("metadata").path("namespace").asText(namespace != null ? namespace : api.defaultNamespace());
        failures += delete(api, kind, ns, o.path("metadata").path("name").asText());
      }
    } else {
      ApiClient.Kind kind = api.resolve(args.get(0));
      String ns = namespace != null ? namespace : api.defaultNamespace();
      for (String name : args.subList(1, args.size())) {
        failures += delete(api, kind, ns, name);
      }
    }
    if (waitForGone) {
      failures += awaitGone(api);
    }
    return failures == 0 ? 0 : 1;
  }

  /** Waits for the deleted objects to disappear; the number still there at the timeout. */
  private int awaitGone(ApiClient api) {
    long deadline = System.nanoTime() + timeout.toNanos();
    List<String> left = new ArrayList<>(pending);
    while (!left.isEmpty()) {
      left.removeIf(path -> api.send("GET", path, null, null, "application/json").code() == 404);
      if (left.isEmpty()) {
        break;
      }
      if (System.nanoTime() > deadline) {
        for (String path : left) {
          System.err.println("error: timed out after " + dev.procurator.api.text.Ages.human(timeout) + " waiting for " + path + " to be gone (finalizers still run)");
        }
        return left.size();
      }
      java.util.concurrent.locks.LockSupport.parkNanos(java.time.Duration.ofMillis(200).toNanos());
    }
    return 0;
  }

  private int delete(ApiClient api, ApiClient.Kind kind, String ns, String name) {
    ApiClient.Response r = api.send("DELETE", kind.path(ns, name), null, null, "application/json");
    if (r.code() / 100 == 2) {
      System.out.println(kind.singular() + "/" + name + ("name".equals(output) ? "" : " deleted"));
      pending.add(kind.path(ns, name));
      return 0;
    }
    if (r.code() == 404 && ignoreNotFound) {
      return 0;
    }
    System.err.println(ApiClient.serverError(r).getMessage());
    return 1;
  }
}
