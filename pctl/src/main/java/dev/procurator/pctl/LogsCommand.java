package dev.procurator.pctl;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;

/**
 * Prints a VM's serial console or a Build's log, read through the API server from the agent of the
 * node that runs it.
 */
@Command(name = "logs", mixinStandardHelpOptions = true,
    description = "Print a VM's serial console (vm/NAME or NAME) or a Build's log (build/NAME); -f keeps following it.")
final class LogsCommand implements Callable<Integer> {
  @ParentCommand Pctl global;

  @Parameters(index = "0", paramLabel = "OBJECT", description = "vm/NAME, build/NAME, or just NAME (a VM).") String target;

  @Option(names = {"-f", "--follow"}, description = "Keep streaming new console output.") boolean follow;

  @Option(names = "--tail", description = "Only the last N lines (then new ones with -f).") Integer tail;

  @Option(names = {"-n", "--namespace"}) String namespace;

  @Override
  public Integer call() {
    String name = target;
    String resource = "vms";
    int slash = target.indexOf('/');
    if (slash >= 0) {
      String type = target.substring(0, slash);
      if (type.equals("build") || type.equals("builds") || type.equals("Build") || type.startsWith("builds.")) {
        resource = "builds";
      } else if (!type.equals("vm") && !type.equals("vms") && !type.equals("VM") && !type.startsWith("vms.")) {
        throw new Errors.UserError("only VMs and Builds have logs, not " + type);
      }
      name = target.substring(slash + 1);
    }
    if (tail != null && tail < 0) {
      throw new Errors.UserError("--tail must be 0 or more");
    }
    ApiClient api = ApiClient.from(global);
    String ns = namespace != null ? namespace : api.defaultNamespace() != null ? api.defaultNamespace() : "default";
    Map<String, String> q = new LinkedHashMap<>();
    if (follow) {
      q.put("follow", "true");
    }
    if (tail != null) {
      q.put("tailLines", tail.toString());
    }
    api.copy("/apis/procurator.dev/v1alpha1/namespaces/" + ns + "/" + resource + "/" + name + "/log" + ApiClient.query(q), System.out);
    return 0;
  }
}
