package dev.procurator.controllers.gitops;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * Server-side apply of a sync's objects as {@link GitSync#MANAGER}, with the client of the
 * repository's identity, several requests at once. Thread-safe.
 */
final class ServerSideApply implements AutoCloseable {
  private static final ObjectMapper JSON = new ObjectMapper();
  /** Requests in flight at once during a dry run or an apply. */
  private static final int PARALLEL = 16;

  private final ExecutorService requests = Executors.newFixedThreadPool(PARALLEL, Thread.ofVirtual().name("gitops-request-", 0).factory());

  /** What the server answered to one apply: the object, or its message. */
  record Attempt(ObjectNode object, String error, int code) {
    boolean failed() {
      return object == null;
    }

    /** The object's resourceVersion as the server answered it ("" for one a dry run would create). */
    String version() {
      return object.path("metadata").path("resourceVersion").asText("");
    }
  }

  /** Applies (or dry-runs) each of {@code changes} as {@code as}, {@link #PARALLEL} at a time; the answers in their order. */
  List<Attempt> apply(KubernetesClient as, List<SyncPlan.Change> changes, boolean dryRun, boolean force) {
    return run(changes, c -> apply(as, c.desired(), dryRun, force));
  }

  /** Applies (or dry-runs) one object as {@code as}, the repository's identity. */
  private Attempt apply(KubernetesClient as, SyncPlan.Desired d, boolean dryRun, boolean force) {
    try {
      GenericKubernetesResource r = as.getKubernetesSerialization().convertValue(d.config(), GenericKubernetesResource.class);
      var op = as.genericKubernetesResources(d.resource());
      var resource = d.namespace() == null ? op.resource(r) : op.inNamespace(d.namespace()).resource(r);
      var apply = resource.dryRun(dryRun).fieldManager(GitSync.MANAGER);
      GenericKubernetesResource out = (force ? apply.forceConflicts() : apply).serverSideApply();
      return new Attempt(JSON.valueToTree(out), null, 200);
    } catch (KubernetesClientException e) {
      String message = e.getStatus() != null && e.getStatus().getMessage() != null ? e.getStatus().getMessage() : e.getMessage();
      return new Attempt(null, message, e.getCode());
    }
  }

  /** Runs {@code work} over {@code items}, {@link #PARALLEL} at a time, answers in their order. */
  private <T> List<Attempt> run(List<T> items, java.util.function.Function<T, Attempt> work) {
    List<Future<Attempt>> futures = new ArrayList<>(items.size());
    for (T item : items) {
      futures.add(requests.submit(() -> work.apply(item)));
    }
    List<Attempt> out = new ArrayList<>(items.size());
    for (Future<Attempt> f : futures) {
      try {
        out.add(f.get());
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IllegalStateException("interrupted", e);
      } catch (java.util.concurrent.ExecutionException e) {
        throw new IllegalStateException(e.getCause());
      }
    }
    return out;
  }

  @Override
  public void close() {
    requests.shutdownNow();
  }
}
