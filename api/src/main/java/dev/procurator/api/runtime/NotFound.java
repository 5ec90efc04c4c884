package dev.procurator.api.runtime;

import io.fabric8.kubernetes.client.KubernetesClientException;
import java.util.concurrent.Callable;

/** The one way to say "gone already is fine": a call whose 404 means its work is done. */
public final class NotFound {
  private NotFound() {}

  /** Whether {@code e} is the API server's 404. */
  public static boolean is(Throwable e) {
    return e instanceof KubernetesClientException k && k.getCode() == 404;
  }

  /** Runs {@code call}; a 404 from it is no error. */
  public static void ignore(ThrowingRunnable call) throws Exception {
    try {
      call.run();
    } catch (KubernetesClientException e) {
      if (e.getCode() != 404) {
        throw e;
      }
    }
  }

  /** What {@code call} returns, or null when it answered 404. */
  public static <T> T orNull(Callable<T> call) throws Exception {
    try {
      return call.call();
    } catch (KubernetesClientException e) {
      if (e.getCode() != 404) {
        throw e;
      }
      return null;
    }
  }

  /** A call that may throw. */
  @FunctionalInterface
  public interface ThrowingRunnable {
    void run() throws Exception;
  }
}
