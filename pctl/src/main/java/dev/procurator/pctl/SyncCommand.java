package dev.procurator.pctl;

import dev.procurator.api.runtime.Conditions;
import dev.procurator.api.v1alpha1.GitRepository;
import dev.procurator.api.v1alpha1.GitRepositoryStatus;
import io.fabric8.kubernetes.api.model.Condition;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.dsl.base.PatchContext;
import io.fabric8.kubernetes.client.dsl.base.PatchType;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;

/**
 * {@code pctl sync gitrepository/NAME}: asks the GitOps controller for a sync now (as the webhook
 * does, through the {@code procurator.dev/requestedAt} annotation), waits for it, and prints what
 * changed. Exit 1 when the sync failed or did not end within {@code --timeout}.
 */
@Command(name = "sync", mixinStandardHelpOptions = true,
    description = "Sync a GitRepository now and print what changed (vm/web configured, vm/old pruned).")
final class SyncCommand implements Callable<Integer> {
  static final String REQUESTED_AT = "procurator.dev/requestedAt";

  @ParentCommand Pctl global;

  @Parameters(index = "0", paramLabel = "gitrepository/NAME", description = "The GitRepository: gitrepository/NAME, or just NAME.")
  String target;

  @Option(names = {"-n", "--namespace"}) String namespace;

  @Option(names = "--timeout", defaultValue = "2m", converter = Durations.Converter.class,
      description = "Give up after this long: 90s, 5m, ... (default ${DEFAULT-VALUE}).")
  Duration timeout;

  String name() {
    int slash = target.indexOf('/');
    if (slash < 0) {
      return target;
    }
    String type = target.substring(0, slash).toLowerCase(java.util.Locale.ROOT);
    if (!List.of("gitrepository", "gitrepositories", "gitrepositories.procurator.dev").contains(type)) {
      throw new Errors.UserError("only GitRepositories sync, not " + type);
    }
    return target.substring(slash + 1);
  }

  @Override
  public Integer call() throws Exception {
    try (KubernetesClient client = KubeClients.from(global)) {
      String ns = namespace != null ? namespace : client.getNamespace();
      var resource = client.resources(GitRepository.class).inNamespace(ns).withName(name());
      if (resource.get() == null) {
        throw new Errors.ServerError("Error from server (NotFound): gitrepositories.procurator.dev \"" + name() + "\" not found");
      }
      String requested = Instant.now().toString();
      String patch = "{\"metadata\":{\"annotations\":{\"" + REQUESTED_AT + "\":\"" + requested + "\"}}}";
      resource.patch(PatchContext.of(PatchType.JSON_MERGE), patch);
      System.out.println("gitrepository.procurator.dev/" + name() + " sync requested");
      CompletableFuture<GitRepository> done = new CompletableFuture<>();
      var handler = new io.fabric8.kubernetes.client.Watcher<GitRepository>() {
        @Override
        public void eventReceived(Action action, GitRepository r) {
          if (action == Action.DELETED) {
            done.completeExceptionally(new Errors.ServerError("the GitRepository was deleted"));
          } else if (handled(r, requested)) {
            done.complete(r);
          }
        }

        @Override
        public void onClose(io.fabric8.kubernetes.client.WatcherException cause) {
          done.completeExceptionally(cause);
        }
      };
      try (var w = resource.watch(handler)) {
        GitRepository now = resource.get();
        if (now != null && handled(now, requested)) {
          done.complete(now);
        }
        GitRepository r;
        try {
          r = done.get(timeout.toNanos(), TimeUnit.NANOSECONDS);
        } catch (TimeoutException e) {
          System.err.println("error: no sync answered the request within " + dev.procurator.api.text.Ages.human(timeout)
              + "; is the controller running?");
          return 1;
        }
        return report(r);
      }
    }
  }

  private static boolean handled(GitRepository r, String requested) {
    return r.getStatus() != null && Objects.equals(r.getStatus().lastHandledRequest(), requested);
  }

  private static int report(GitRepository r) {
    GitRepositoryStatus s = r.getStatus();
    Condition ready = Conditions.find(s.conditions(), "Ready").orElse(null);
    if (ready == null || !"True".equals(ready.getStatus())) {
      System.err.println("error: " + (ready == null ? "the sync did not finish" : ready.getReason() + ": " + ready.getMessage()));
      return 1;
    }
    if (s.lastSync() != null && s.lastSync().changes() != null) {
      s.lastSync().changes().forEach(System.out::println);
    }
    var last = s.lastSync();
    System.out.println("synced " + s.lastAppliedCommit() + (last == null ? "" : ": " + last.created() + " created, " + last.updated()
        + " configured, " + last.unchanged() + " unchanged, " + last.pruned() + " pruned"));
    Conditions.find(s.conditions(), "Drifted").filter(c -> "True".equals(c.getStatus()))
        .ifPresent(c -> System.out.println("warning: " + c.getMessage()));
    return 0;
  }
}
