package dev.procurator.api.runtime;

import io.fabric8.kubernetes.client.CustomResource;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.util.Objects;

/**
 * The one way a loop writes status: once per pass, and only when it changed. The write carries
 * the resourceVersion the loop read, so a status computed from a stale object fails with 409 and
 * the {@link Controller} requeues the key instead of overwriting someone else's change.
 */
public final class StatusWriter {
  private StatusWriter() {}

  /** {@code object} with {@code status} written, or {@code object} itself when its status already equals it. */
  public static <S, T extends CustomResource<?, S>> T write(KubernetesClient client, T object, S status) {
    if (Objects.equals(object.getStatus(), status)) {
      return object;
    }
    object.setStatus(status);
    return client.resource(object).updateStatus();
  }
}
