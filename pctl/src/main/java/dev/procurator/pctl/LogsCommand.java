package dev.procurator.pctl;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;

/** Prints a VM's serial console, read through the API server from the agent of the node that runs it. */
@Command(name = "logs", mixinStandardHelpOptions = true,
    description = "Print a VM's serial console (vm/NAME or NAME); -f keeps following it.")
final class LogsCommand implements Callable<Integer> {
  @ParentCommand Pctl global;

  @Parameters(index = "0", paramLabel = "VM", description = "vm/NAME, or just NAME.") String target;

  @Option(names = {"-f", "--follow"}, description = "Keep streaming new console output.") boolean follow;

  @Option(names = "--tail", description = "Only the last N lines (then new ones with -f).") Integer tail;

  @Option(names = {"-n", "--namespace"}) String namespace;

  @Override
  public Integer call() {
    String name = target;
    int slash = target.indexOf('/');
    if (slash >= 0) {
      String type = target.substring(0, slash);
      if (!type.equals("vm") && !type.equals("vms") && !type.equals("VM") && !type.startsWith("vms.")) {
        throw new Errors.UserError("only VMs have console logs, not " + type);
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
    api.copy("/apis/procurator.dev/v1alpha1/namespaces/" + ns + "/vms/" + name + "/log" + ApiClient.query(q), System.out);
    return 0;
  }
}
