package dev.procurator.controllers.gitops;

import dev.procurator.api.runtime.EventRecorder;
import dev.procurator.api.v1alpha1.GitRepository;
import dev.procurator.api.v1alpha1.GitRepositorySpec;
import dev.procurator.api.v1alpha1.VM;
import dev.procurator.apiserver.testing.TestApiServer;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * What applying as a repository's own identity costs: the initial sync of the same commit of N
 * VM manifests, once impersonating {@code system:gitops:NS:NAME} (as the controller does) and
 * once with the controllers' own rights, alternating, in fresh namespaces, in one run against
 * one in-process API server (embedded store). Each sync is the real {@link Syncer} with a fresh
 * cache: fetch, parse, server-side dry run and apply of every object, status.
 *
 * <p>Run: {@code bin/bench-gitops-identity [manifests=1000] [rounds=5]}.
 */
public final class ImpersonationBenchmark {
  private ImpersonationBenchmark() {}

  public static void main(String[] args) throws Exception {
    int count = args.length > 0 ? Integer.parseInt(args[0]) : 1000;
    int rounds = args.length > 1 ? Integer.parseInt(args[1]) : 5;
    Path work = Files.createTempDirectory("gitops-identity-bench");
    try (TestApiServer api = TestApiServer.embedded(); Remote remote = new Remote(work, "fleet")) {
      KubernetesClient client = api.client();
      Map<String, String> files = new HashMap<>();
      for (int i = 0; i < count; i++) {
        String name = String.format(Locale.ROOT, "vm-%04d", i);
        files.put("vms/" + name + ".yaml", GitOpsIT.vm(name, 1));
      }
      String commit = remote.push("fleet", files);
      EventRecorder events = new EventRecorder(client, "gitops-bench", "bench", Clock.systemUTC());
      List<Double> as = new ArrayList<>();
      List<Double> own = new ArrayList<>();
      // a warm-up of each, then rounds in alternating order
      for (int round = -1; round < rounds; round++) {
        for (boolean impersonate : round % 2 == 0 ? new boolean[] {true, false} : new boolean[] {false, true}) {
          double s = sync(client, events, remote, work, commit, count, impersonate, "r" + (round + 1) + (impersonate ? "-as" : "-own"));
          if (round >= 0) {
            (impersonate ? as : own).add(s);
          }
          System.out.printf(Locale.ROOT, "%s %s: %.2f s%n", round < 0 ? "warm-up" : "round " + round,
              impersonate ? "impersonating the repository" : "the controllers' own rights", s);
        }
      }
      double medianAs = median(as);
      double medianOwn = median(own);
      System.out.printf(Locale.ROOT, "initial sync of %d manifests, median of %d: own rights %.2f s, impersonating %.2f s: %.2fx the speed%n",
          count, rounds, medianOwn, medianAs, medianOwn / medianAs);
      events.close();
    }
  }

  private static double sync(KubernetesClient client, EventRecorder events, Remote remote, Path work, String commit, int count,
      boolean impersonate, String ns) throws Exception {
    GitOpsIT.grant(client, ns, "developer");
    GitRepository r = new GitRepository();
    r.setMetadata(new ObjectMetaBuilder().withName("fleet").withNamespace(ns).build());
    r.setSpec(new GitRepositorySpec(remote.fileUrl(), "main", "vms", 3600, true));
    r = client.resource(r).create();
    try (Syncer syncer = new Syncer(client, Files.createTempDirectory(work, "cache"), events, true, impersonate)) {
      long t0 = System.nanoTime();
      SyncResult result = syncer.prepare(r, "benchmark");
      if (result instanceof SyncResult.Validated v) {
        result = syncer.apply(r, v);
      }
      double seconds = (System.nanoTime() - t0) / 1e9;
      if (!(result instanceof SyncResult.Applied a) || !commit.equals(a.commit())) {
        throw new IllegalStateException("the sync in " + ns + " did not apply " + commit + ": " + result);
      }
      int vms = client.resources(VM.class).inNamespace(ns).list().getItems().size();
      if (vms != count) {
        throw new IllegalStateException(ns + " holds " + vms + " VMs, not " + count);
      }
      return seconds;
    }
  }

  private static double median(List<Double> xs) {
    List<Double> s = new ArrayList<>(xs);
    s.sort(null);
    return s.size() % 2 == 1 ? s.get(s.size() / 2) : (s.get(s.size() / 2 - 1) + s.get(s.size() / 2)) / 2;
  }
}
