package dev.procurator.pctl;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * Answers questions from the API server's audit log (the JSON lines it writes on its own host),
 * such as who read a Secret: {@code pctl audit --secret db -n shop}. Rotated files are read too,
 * oldest first.
 */
@Command(name = "audit", mixinStandardHelpOptions = true,
    description = "Search the audit log on this host: who did what to which object (e.g. --secret NAME: who read it).")
final class AuditCommand implements Callable<Integer> {
  private static final ObjectMapper JSON = new ObjectMapper();

  @picocli.CommandLine.ParentCommand Pctl global;

  @Option(names = "--file",
      description = "The audit log (default: audit.log beside the kubeconfig, as 'pctl up --data-dir D' writes both; else ~/.procurator/data/audit.log).")
  Path file;

  @Option(names = "--secret", description = "Requests about this Secret.") String secret;

  @Option(names = {"-n", "--namespace"}, description = "Only this namespace.") String namespace;

  @Option(names = "--user", description = "Only this user's requests.") String user;

  @Option(names = "--verb", description = "Only this verb (get, list, watch, create, update, patch, delete).") String verb;

  @Option(names = "--resource", description = "Only this resource (vms, secrets, ...).") String resource;

  @Override
  public Integer call() throws IOException {
    Path log = file != null ? file : defaultLog();
    if (!Files.exists(log)) {
      throw new Errors.UserError("no audit log at " + log + " (give --file)");
    }
    List<Path> files = new ArrayList<>();
    for (int i = 20; i >= 1; i--) {
      Path rotated = log.resolveSibling(log.getFileName() + "." + i);
      if (Files.exists(rotated)) {
        files.add(rotated);
      }
    }
    files.add(log);
    List<List<String>> rows = new ArrayList<>();
    for (Path f : files) {
      for (String line : Files.readAllLines(f)) {
        JsonNode e;
        try {
          e = JSON.readTree(line);
        } catch (IOException partial) {
          continue; // a line cut short by a crash
        }
        if (matches(e)) {
          JsonNode ref = e.path("objectRef");
          String object = ref.path("resource").asText(e.path("requestURI").asText())
              + (ref.hasNonNull("subresource") ? "/" + ref.path("subresource").asText() : "")
              + (ref.hasNonNull("name") ? " " + (ref.hasNonNull("namespace") ? ref.path("namespace").asText() + "/" : "") + ref.path("name").asText()
                  : ref.hasNonNull("namespace") ? " -n " + ref.path("namespace").asText() : "");
          rows.add(List.of(e.path("requestReceivedTimestamp").asText(), e.path("user").path("username").asText(), e.path("verb").asText(),
              object, e.path("responseStatus").path("code").asText(), e.path("sourceIPs").path(0).asText()));
        }
      }
    }
    new TablePrinter(System.out, false, false).printCells(List.of("TIME", "USER", "VERB", "OBJECT", "CODE", "SOURCE"), rows);
    return 0;
  }

  private boolean matches(JsonNode e) {
    JsonNode ref = e.path("objectRef");
    if (secret != null && !(ref.path("resource").asText().equals("secrets") && (ref.path("name").asText().equals(secret)
        || (!ref.hasNonNull("name") && e.path("verb").asText().matches("list|watch"))))) {
      return false;
    }
    return (namespace == null || namespace.equals(ref.path("namespace").asText(null)) || (!ref.hasNonNull("namespace") && secret != null))
        && (user == null || user.equals(e.path("user").path("username").asText()))
        && (verb == null || verb.equals(e.path("verb").asText()))
        && (resource == null || resource.equals(ref.path("resource").asText()));
  }

  /**
   * The audit log of the server pctl talks to when it runs on this host: beside the kubeconfig
   * that {@code pctl up --data-dir D} wrote (D/audit.log), else under the default data dir.
   */
  Path defaultLog() {
    Path kubeconfig = KubeClients.kubeconfigOf(global).toAbsolutePath();
    Path beside = kubeconfig.resolveSibling("audit.log");
    return Files.exists(beside) ? beside : UserDirs.procurator().resolve("data").resolve("audit.log");
  }
}
