package dev.procurator.pctl.bench;

import dev.procurator.apiserver.ApiServerConfig;
import dev.procurator.apiserver.testing.EtcdProcess;
import dev.procurator.apiserver.testing.TestApiServer;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * The cost of authorization: VM creates by a developer (a token-file user bound by RBAC) on a
 * server with RBAC on, 50 ClusterRoles and 200 bindings loaded, against the same creates on a
 * server with RBAC off, both on one etcd member in this JVM, rounds alternating. Run with
 * bin/bench-rbac.
 */
public final class RbacBenchmark {
  private static final String TOKEN = "bench-developer-token";

  public static void main(String[] args) throws Exception {
    int creates = args.length > 0 ? Integer.parseInt(args[0]) : 3000;
    int clients = 16;
    System.out.printf(Locale.ROOT, "# Procurator RBAC benchmark, %s, %d cores, etcd store, %d clients%n", Instant.now(),
        Runtime.getRuntime().availableProcessors(), clients);
    Path tokens = Files.createTempFile("bench-tokens", ".csv");
    Files.writeString(tokens, TOKEN + ",dana,1001,\"devs,team-3\"\n");
    try (EtcdProcess etcd = EtcdProcess.start(1);
        TestApiServer on = TestApiServer.start(etcd.endpoints(), c -> c.withAccess(new ApiServerConfig.Access(tokens, null, true)));
        TestApiServer off = TestApiServer.start(etcd.endpoints(), c -> c.withAccess(new ApiServerConfig.Access(tokens, null, false)))) {
      load(on);
      String pad = "x".repeat(700);
      List<Double> rbac = new ArrayList<>();
      List<Double> none = new ArrayList<>();
      SecretsAtRestBenchmark.create(on, "vms", "warm-on", 6000, clients, pad, TOKEN);
      SecretsAtRestBenchmark.create(off, "vms", "warm-off", 6000, clients, pad, TOKEN);
      // rounds alternate which server goes first, so that neither gains from going second
      for (int round = 0; round < 8; round++) {
        if (round % 2 == 0) {
          none.add(SecretsAtRestBenchmark.create(off, "vms", "off-" + round, creates, clients, pad, TOKEN));
          rbac.add(SecretsAtRestBenchmark.create(on, "vms", "on-" + round, creates, clients, pad, TOKEN));
        } else {
          rbac.add(SecretsAtRestBenchmark.create(on, "vms", "on-" + round, creates, clients, pad, TOKEN));
          none.add(SecretsAtRestBenchmark.create(off, "vms", "off-" + round, creates, clients, pad, TOKEN));
        }
      }
      double a = VmBootBenchmark.percentile(none, 50);
      double b = VmBootBenchmark.percentile(rbac, 50);
      List<Double> pairs = new ArrayList<>();
      for (int i = 0; i < none.size(); i++) {
        pairs.add(rbac.get(i) / none.get(i));
      }
      System.out.printf(Locale.ROOT, "VM creates/s by a developer, ~1 KiB objects, %d per round: RBAC off %s (median %.0f), RBAC on with 50 roles "
          + "and 200 bindings %s (median %.0f) → %.2f× of the medians; per round on/off %s, median %.2f× (target ≥ 0.95×)%n",
          creates, fmt(none), a, fmt(rbac), b, b / a, pairs.stream().map(d -> String.format(Locale.ROOT, "%.2f", d)).toList(),
          VmBootBenchmark.percentile(pairs, 50));
    } finally {
      Files.deleteIfExists(tokens);
    }
  }

  /** 50 ClusterRoles of 5 rules and 200 bindings, 10 of them to the developer's groups, and the developer role for its group. */
  private static void load(TestApiServer api) throws Exception {
    for (int i = 0; i < 50; i++) {
      StringBuilder rules = new StringBuilder();
      for (int r = 0; r < 5; r++) {
        rules.append(r == 0 ? "" : ",").append("{\"apiGroups\":[\"procurator.dev\"],\"resources\":[\"clusters\",\"builds\"],\"verbs\":[\"get\",\"list\"],"
            + "\"resourceNames\":[\"name-").append(i).append('-').append(r).append("\"]}");
      }
      post(api, "/apis/rbac.authorization.k8s.io/v1/clusterroles",
          "{\"metadata\":{\"name\":\"role-" + i + "\"},\"rules\":[" + rules + "]}");
    }
    for (int i = 0; i < 199; i++) {
      String groups = "{\"kind\":\"Group\",\"name\":\"group-" + (i % 20) + "\"}" + (i % 20 == 3 ? ",{\"kind\":\"Group\",\"name\":\"team-3\"}" : "");
      post(api, "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings", "{\"metadata\":{\"name\":\"binding-" + i + "\"},"
          + "\"roleRef\":{\"apiGroup\":\"rbac.authorization.k8s.io\",\"kind\":\"ClusterRole\",\"name\":\"role-" + (i % 50) + "\"},"
          + "\"subjects\":[{\"kind\":\"User\",\"name\":\"user-" + i + "\"}," + groups + "]}");
    }
    post(api, "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings", "{\"metadata\":{\"name\":\"devs\"},"
        + "\"roleRef\":{\"apiGroup\":\"rbac.authorization.k8s.io\",\"kind\":\"ClusterRole\",\"name\":\"developer\"},"
        + "\"subjects\":[{\"kind\":\"Group\",\"name\":\"devs\"}]}");
  }

  private static void post(TestApiServer api, String path, String body) throws Exception {
    HttpResponse<String> r = api.request("POST", path, "application/json", body);
    if (r.statusCode() != 201) {
      throw new IllegalStateException(r.statusCode() + " " + r.body());
    }
  }

  private static String fmt(List<Double> v) {
    return v.stream().map(d -> String.format(Locale.ROOT, "%.0f", d)).toList().toString();
  }
}
