package dev.procurator.pctl;

import com.fasterxml.jackson.databind.JsonNode;
import java.time.Duration;
import java.util.concurrent.Callable;
import java.util.concurrent.locks.LockSupport;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;

/** The keys Secrets are sealed under at rest: status, rotation and retirement (cluster admins only). */
@Command(name = "secrets", mixinStandardHelpOptions = true,
    description = "Encryption of Secrets at rest: status, rotate-key, retire-key.",
    subcommands = {SecretsCommand.Status.class, SecretsCommand.Rotate.class, SecretsCommand.Retire.class})
final class SecretsCommand {
  @ParentCommand Pctl global;

  static void print(JsonNode s) {
    System.out.println("current key: " + s.path("currentKey").asText());
    System.out.println("keys:        " + String.join(", ", iterable(s.path("keys"))) + " (the first seals, all open)");
    StringBuilder under = new StringBuilder();
    s.path("sealedUnder").properties().forEach(e -> under.append(under.isEmpty() ? "" : ", ").append(e.getKey()).append(": ").append(e.getValue().asInt()));
    System.out.println("secrets:     " + s.path("secrets").asInt() + " (" + (under.isEmpty() ? "none sealed" : under) + ", "
        + s.path("unsealed").asInt() + " not sealed)");
    System.out.println("rewrap:      " + (s.path("rewrapping").asBoolean() ? "running" : "idle")
        + (s.hasNonNull("lastError") ? " (last error: " + s.path("lastError").asText() + ")" : ""));
  }

  private static java.util.List<String> iterable(JsonNode array) {
    java.util.List<String> out = new java.util.ArrayList<>();
    array.forEach(n -> out.add(n.asText()));
    return out;
  }

  /** Whether every Secret is sealed under the current key. */
  static boolean done(JsonNode s) {
    return !s.path("rewrapping").asBoolean() && s.path("unsealed").asInt() == 0
        && s.path("sealedUnder").path(s.path("currentKey").asText()).asInt() == s.path("secrets").asInt();
  }

  @Command(name = "status", mixinStandardHelpOptions = true, description = "The keys, and how many Secrets are sealed under each.")
  static final class Status implements Callable<Integer> {
    @ParentCommand SecretsCommand parent;

    @Override
    public Integer call() {
      print(ApiClient.from(parent.global).get("/encryption/status"));
      return 0;
    }
  }

  @Command(name = "rotate-key", mixinStandardHelpOptions = true,
      description = "Make a new key current and rewrap every Secret under it in the background (resumed after a restart).")
  static final class Rotate implements Callable<Integer> {
    @ParentCommand SecretsCommand parent;

    @Option(names = "--wait", description = "Wait until every Secret is sealed under the new key.") boolean await;

    @Option(names = "--timeout", defaultValue = "10m", converter = Durations.Converter.class,
        description = "How long --wait waits (default: ${DEFAULT-VALUE}).") Duration timeout;

    @Override
    public Integer call() {
      ApiClient api = ApiClient.from(parent.global);
      JsonNode s = api.call("POST", "/encryption/rotate", "application/json", new byte[0], "application/json");
      System.out.println("key " + s.path("currentKey").asText() + " is current; rewrapping");
      if (await) {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (!done(s)) {
          if (System.nanoTime() > deadline) {
            print(s);
            System.err.println("error: the rewrap did not finish within " + dev.procurator.api.text.Ages.human(timeout));
            return 1;
          }
          LockSupport.parkNanos(Duration.ofMillis(200).toNanos());
          s = api.get("/encryption/status");
        }
      }
      print(s);
      return 0;
    }
  }

  @Command(name = "retire-key", mixinStandardHelpOptions = true, description = "Drop an old key once no Secret is sealed under it.")
  static final class Retire implements Callable<Integer> {
    @ParentCommand SecretsCommand parent;

    @Parameters(paramLabel = "KEY") String key;

    @Override
    public Integer call() {
      JsonNode s = ApiClient.from(parent.global).call("POST", "/encryption/retire?key=" + java.net.URLEncoder.encode(key, java.nio.charset.StandardCharsets.UTF_8),
          "application/json", new byte[0], "application/json");
      System.out.println("key " + key + " retired");
      print(s);
      return 0;
    }
  }
}
