package dev.procurator.pctl;

import dev.procurator.api.runtime.Conditions;
import dev.procurator.api.text.Ages;
import dev.procurator.api.v1alpha1.Cluster;
import dev.procurator.api.v1alpha1.ClusterSpec;
import dev.procurator.api.v1alpha1.ClusterStatus;
import dev.procurator.api.v1alpha1.Revisions;
import dev.procurator.api.v1alpha1.VMSpec;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.fabric8.kubernetes.api.model.Condition;
import io.fabric8.kubernetes.api.model.apps.ControllerRevision;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.Watch;
import io.fabric8.kubernetes.client.Watcher;
import io.fabric8.kubernetes.client.WatcherException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;

/** {@code pctl rollout}: follow, inspect and steer a Cluster's rollout, as kubectl rollout and Argo Rollouts' plugin do. */
@Command(name = "rollout", mixinStandardHelpOptions = true, description = "Follow and steer the rollouts of Clusters.",
    subcommands = {RolloutCommand.Status.class, RolloutCommand.History.class, RolloutCommand.Undo.class, RolloutCommand.Pause.class,
        RolloutCommand.Resume.class, RolloutCommand.Promote.class, RolloutCommand.Restart.class})
final class RolloutCommand {
  @ParentCommand Pctl global;

  /** What every subcommand takes: the Cluster and its namespace. */
  static final class Target {
    @Parameters(index = "0", paramLabel = "cluster/NAME", description = "The Cluster: cluster/NAME, or just NAME.") String target;

    @Option(names = {"-n", "--namespace"}) String namespace;

    String name() {
      int slash = target.indexOf('/');
      if (slash < 0) {
        return target;
      }
      String type = target.substring(0, slash).toLowerCase(java.util.Locale.ROOT);
      if (!List.of("cluster", "clusters", "clusters.procurator.dev").contains(type)) {
        throw new Errors.UserError("rollouts are of Clusters, not " + type);
      }
      return target.substring(slash + 1);
    }

    String namespace(KubernetesClient client) {
      return namespace != null ? namespace : client.getNamespace();
    }

    Cluster get(KubernetesClient client) {
      Cluster c = client.resources(Cluster.class).inNamespace(namespace(client)).withName(name()).get();
      if (c == null) {
        throw new Errors.ServerError("Error from server (NotFound): clusters.procurator.dev \"" + name() + "\" not found");
      }
      return c;
    }
  }

  /** How a rollout stands, from the Cluster's status. */
  record Standing(boolean done, boolean failed, String message) {
    static Standing of(Cluster c) {
      ClusterStatus st = c.getStatus();
      long generation = c.getMetadata().getGeneration() == null ? 0 : c.getMetadata().getGeneration();
      if (st == null || st.observedGeneration() == null || st.observedGeneration() < generation) {
        return new Standing(false, false, "Waiting for the controller to see generation " + generation + "...");
      }
      Condition p = Conditions.find(st.conditions(), "Progressing").orElse(null);
      if (p == null) {
        return new Standing(false, false, "Waiting for the rollout to start...");
      }
      return switch (p.getReason()) {
        case "RolloutComplete" -> new Standing(true, false, "cluster \"" + c.getMetadata().getName() + "\" successfully rolled out");
        case "RolledBack", "ProgressDeadlineExceeded", "RevisionFailed" -> new Standing(true, true, p.getReason() + ": " + p.getMessage());
        default -> new Standing(false, false, "Waiting for rollout to finish: " + p.getMessage() + "...");
      };
    }
  }

  @Command(name = "status", mixinStandardHelpOptions = true,
      description = "Follow a rollout until it is done: exit 0 when complete, 1 when rolled back, failed or past --timeout.")
  static final class Status implements Callable<Integer> {
    @ParentCommand RolloutCommand parent;
    @Mixin Target target;

    @Option(names = "--timeout", defaultValue = "0s", converter = Durations.Converter.class,
        description = "Give up after this long: 90s, 5m, ... (default ${DEFAULT-VALUE}: wait as long as it takes).")
    Duration timeout;

    @Option(names = {"-w", "--watch"}, defaultValue = "true", negatable = true, description = "Follow until done (default); --no-watch prints once.")
    boolean watch;

    @Override
    public Integer call() throws Exception {
      try (KubernetesClient client = KubeClients.from(parent.global)) {
        Standing first = Standing.of(target.get(client));
        System.out.println(first.message());
        if (first.done() || !watch) {
          return finish(first);
        }
        CompletableFuture<Standing> end = new CompletableFuture<>();
        String[] last = {first.message()};
        try (Watch w = client.resources(Cluster.class).inNamespace(target.namespace(client)).withName(target.name()).watch(new Watcher<>() {
          @Override
          public void eventReceived(Action action, Cluster c) {
            if (action == Action.DELETED) {
              end.complete(new Standing(true, true, "the Cluster was deleted"));
              return;
            }
            Standing s = Standing.of(c);
            if (!Objects.equals(s.message(), last[0])) {
              last[0] = s.message();
              if (!s.done()) {
                System.out.println(s.message());
              }
            }
            if (s.done()) {
              end.complete(s);
            }
          }

          @Override
          public void onClose(WatcherException cause) {
            end.completeExceptionally(cause);
          }
        })) {
          // a change between the first read and the watch is not missed: read once more
          Standing now = Standing.of(target.get(client));
          if (now.done()) {
            end.complete(now);
          }
          Standing s = timeout.isZero() ? end.get() : end.get(timeout.toNanos(), TimeUnit.NANOSECONDS);
          return finish(s);
        } catch (TimeoutException e) {
          System.err.println("error: timed out waiting for the rollout to finish: " + last[0]);
          return 1;
        }
      }
    }

    private static int finish(Standing s) {
      if (!s.done()) {
        return 0;
      }
      if (s.failed()) {
        System.err.println("error: " + s.message());
        return 1;
      }
      System.out.println(s.message());
      return 0;
    }
  }

  @Command(name = "history", mixinStandardHelpOptions = true, description = "List a Cluster's revisions, newest last.")
  static final class History implements Callable<Integer> {
    @ParentCommand RolloutCommand parent;
    @Mixin Target target;

    @Override
    public Integer call() {
      try (KubernetesClient client = KubeClients.from(parent.global)) {
        Cluster c = target.get(client);
        List<ControllerRevision> revisions = revisions(client, c);
        Map<String, String> current = currentByTemplate(c);
        List<String[]> rows = new ArrayList<>();
        rows.add(new String[] {"TEMPLATE", "REVISION", "HASH", "CLOSURE", "GIT COMMIT", "AGE", "OUTCOME"});
        for (ControllerRevision r : revisions) {
          Map<String, String> l = r.getMetadata().getLabels();
          Map<String, String> a = r.getMetadata().getAnnotations() == null ? Map.of() : r.getMetadata().getAnnotations();
          String template = l.get(Revisions.TEMPLATE_LABEL);
          String hash = l.get(Revisions.REVISION_LABEL);
          String outcome = a.getOrDefault(Revisions.OUTCOME_ANNOTATION, "InProgress")
              + (hash.equals(current.get(template)) ? " (current)" : "")
              + (a.containsKey(Revisions.FAILURE_ANNOTATION) ? ": " + a.get(Revisions.FAILURE_ANNOTATION) : "");
          String closure = Revisions.closure(r);
          String commit = a.getOrDefault(Cluster.GIT_COMMIT, "");
          rows.add(new String[] {template, String.valueOf(r.getRevision()), hash, closure == null ? "<none>" : closure,
              commit.isEmpty() ? "<none>" : commit.substring(0, Math.min(12, commit.length())),
              Ages.human(Duration.between(Instant.parse(r.getMetadata().getCreationTimestamp()), Instant.now())), outcome});
        }
        print(rows);
        return 0;
      }
    }
  }

  @Command(name = "undo", mixinStandardHelpOptions = true,
      description = "Roll a Cluster's template back to an earlier revision (the one before the current, by default).")
  static final class Undo implements Callable<Integer> {
    @ParentCommand RolloutCommand parent;
    @Mixin Target target;

    @Option(names = "--to-revision", description = "The revision number to go back to (pctl rollout history lists them).") Long toRevision;

    @Option(names = "--template", description = "The template to roll back (needed when the Cluster has several).") String template;

    @Override
    public Integer call() {
      try (KubernetesClient client = KubeClients.from(parent.global)) {
        Cluster c = target.get(client);
        List<ClusterSpec.Template> templates = c.getSpec().templates();
        if (template == null && templates.size() > 1) {
          throw new Errors.UserError("cluster " + target.name() + " has " + templates.size() + " templates: pass --template");
        }
        String t = template != null ? template : templates.getFirst().name();
        ClusterSpec.Template now = templates.stream().filter(x -> x.name().equals(t)).findFirst()
            .orElseThrow(() -> new Errors.UserError("cluster " + target.name() + " has no template " + t));
        String current = currentByTemplate(c).get(t);
        List<ControllerRevision> mine = revisions(client, c).stream()
            .filter(r -> t.equals(r.getMetadata().getLabels().get(Revisions.TEMPLATE_LABEL))).toList();
        ControllerRevision to;
        if (toRevision != null) {
          to = mine.stream().filter(r -> toRevision.equals(r.getRevision())).findFirst()
              .orElseThrow(() -> new Errors.UserError("template " + t + " has no revision " + toRevision + " (pctl rollout history lists them)"));
        } else {
          long currentNumber = mine.stream().filter(r -> r.getMetadata().getLabels().get(Revisions.REVISION_LABEL).equals(current))
              .mapToLong(ControllerRevision::getRevision).findFirst().orElse(Long.MAX_VALUE);
          to = mine.stream().filter(r -> r.getRevision() < currentNumber).max(Comparator.comparingLong(ControllerRevision::getRevision))
              .orElseThrow(() -> new Errors.UserError("template " + t + " has no revision before the current one to go back to"));
        }
        ClusterSpec.Template recorded = Revisions.template(to);
        if (recorded == null || recorded.spec() == null) {
          throw new Errors.ServerError("revision " + to.getRevision() + " of template " + t + " (" + to.getMetadata().getName()
              + ") records no template to go back to");
        }
        VMSpec spec = recorded.spec();
        if (Revisions.hash(spec).equals(Revisions.hash(now.spec()))) {
          System.out.println("cluster.procurator.dev/" + target.name() + " skipped rollback (template " + t
              + " already matches revision " + to.getRevision() + ")");
          return 0;
        }
        // the templates as read, with one spec replaced; the resourceVersion makes a concurrent edit of the spec a conflict
        List<ClusterSpec.Template> next = templates.stream().map(x -> x.name().equals(t) ? x.withSpec(spec) : x).toList();
        Map<String, Object> patch = Map.of("metadata", Map.of("resourceVersion", c.getMetadata().getResourceVersion()),
            "spec", Map.of("templates", next));
        mergePatch(client, target, patch);
        System.out.println("cluster.procurator.dev/" + target.name() + " rolled back: template " + t + " to revision " + to.getRevision()
            + " (" + to.getMetadata().getLabels().get(Revisions.REVISION_LABEL) + ")");
        return 0;
      }
    }
  }

  @Command(name = "pause", mixinStandardHelpOptions = true, description = "Stop a Cluster's rollouts where they are (spec.paused).")
  static final class Pause implements Callable<Integer> {
    @ParentCommand RolloutCommand parent;
    @Mixin Target target;

    @Override
    public Integer call() {
      return setPaused(parent.global, target, true, "paused");
    }
  }

  @Command(name = "resume", mixinStandardHelpOptions = true, description = "Let a paused Cluster's rollouts go on.")
  static final class Resume implements Callable<Integer> {
    @ParentCommand RolloutCommand parent;
    @Mixin Target target;

    @Override
    public Integer call() {
      return setPaused(parent.global, target, false, "resumed");
    }
  }

  @Command(name = "promote", mixinStandardHelpOptions = true,
      description = "Go on past a canary pause without seconds, or switch a blue-green rollout that waits for it.")
  static final class Promote implements Callable<Integer> {
    @ParentCommand RolloutCommand parent;
    @Mixin Target target;

    @Override
    public Integer call() {
      return annotate(parent.global, target, Cluster.PROMOTE, "promoted");
    }
  }

  @Command(name = "restart", mixinStandardHelpOptions = true,
      description = "Replace every VM of a Cluster with a new one of the same revision, under its strategy.")
  static final class Restart implements Callable<Integer> {
    @ParentCommand RolloutCommand parent;
    @Mixin Target target;

    @Override
    public Integer call() {
      return annotate(parent.global, target, Cluster.RESTARTED_AT, "restarted");
    }
  }

  /** A JSON merge patch, as kubectl annotate and kubectl patch send: no conflict with the controller's status writes. */
  private static void mergePatch(KubernetesClient client, Target target, Map<String, Object> patch) {
    try {
      client.resources(Cluster.class).inNamespace(target.namespace(client)).withName(target.name())
          .patch(io.fabric8.kubernetes.client.dsl.base.PatchContext.of(io.fabric8.kubernetes.client.dsl.base.PatchType.JSON_MERGE),
              new ObjectMapper().writeValueAsString(patch));
    } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
      throw new IllegalStateException(e);
    }
  }

  private static int setPaused(Pctl global, Target target, boolean paused, String said) {
    try (KubernetesClient client = KubeClients.from(global)) {
      target.get(client);
      Map<String, Object> spec = new HashMap<>();
      spec.put("paused", paused ? Boolean.TRUE : null);
      mergePatch(client, target, Map.of("spec", spec));
      System.out.println("cluster.procurator.dev/" + target.name() + " " + said);
      return 0;
    }
  }

  private static int annotate(Pctl global, Target target, String key, String said) {
    try (KubernetesClient client = KubeClients.from(global)) {
      target.get(client);
      mergePatch(client, target, Map.of("metadata", Map.of("annotations", Map.of(key, Instant.now().toString()))));
      System.out.println("cluster.procurator.dev/" + target.name() + " " + said);
      return 0;
    }
  }

  static List<ControllerRevision> revisions(KubernetesClient client, Cluster c) {
    return client.resources(ControllerRevision.class).inNamespace(c.getMetadata().getNamespace())
        .withLabel(Revisions.CLUSTER_LABEL, c.getMetadata().getName()).list().getItems().stream()
        .sorted(Comparator.comparing((ControllerRevision r) -> r.getMetadata().getLabels().getOrDefault(Revisions.TEMPLATE_LABEL, ""))
            .thenComparingLong(ControllerRevision::getRevision)).toList();
  }

  static Map<String, String> currentByTemplate(Cluster c) {
    Map<String, String> out = new HashMap<>();
    if (c.getStatus() != null && c.getStatus().templates() != null) {
      c.getStatus().templates().forEach(t -> {
        if (t.currentRevision() != null) {
          out.put(t.name(), t.currentRevision());
        }
      });
    }
    return out;
  }

  static void print(List<String[]> rows) {
    int[] w = new int[rows.getFirst().length];
    for (String[] r : rows) {
      for (int i = 0; i < r.length; i++) {
        w[i] = Math.max(w[i], r[i].length());
      }
    }
    for (String[] r : rows) {
      StringBuilder sb = new StringBuilder();
      for (int i = 0; i < r.length; i++) {
        sb.append(r[i]);
        if (i < r.length - 1) {
          sb.append(" ".repeat(w[i] - r[i].length() + 3));
        }
      }
      System.out.println(sb.toString().stripTrailing());
    }
  }
}
