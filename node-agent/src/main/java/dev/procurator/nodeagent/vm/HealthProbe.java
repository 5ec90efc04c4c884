package dev.procurator.nodeagent.vm;

import dev.procurator.api.v1alpha1.HealthCheckType;
import dev.procurator.api.v1alpha1.VMSpec;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;

/**
 * Runs one health check against a guest port forwarded to 127.0.0.1: {@code http} passes on a
 * 2xx or 3xx answer to GET, {@code tcp} on an accepted connection. A check never takes longer than
 * its timeout, and that timeout is capped at the check's period and at {@link #MAX_TIMEOUT}, so a
 * guest that accepts and never answers cannot hold probes up. Thread-safe.
 */
public final class HealthProbe {
  /** A check's outcome; {@code detail} says why it failed. */
  public record Outcome(boolean passed, String detail) {}

  /** The longest a single check may take, whatever its spec asks. */
  public static final Duration MAX_TIMEOUT = Duration.ofSeconds(30);

  private final HttpClient http = HttpClient.newBuilder().connectTimeout(MAX_TIMEOUT).build();

  public static Duration period(VMSpec.HealthCheck c) {
    return Duration.ofSeconds(c.periodSeconds() == null ? 10 : c.periodSeconds());
  }

  /** The check's timeout (1 s by default), at most its period and at most {@link #MAX_TIMEOUT}. */
  public static Duration timeout(VMSpec.HealthCheck c) {
    Duration asked = Duration.ofSeconds(c.timeoutSeconds() == null ? 1 : c.timeoutSeconds());
    Duration cap = period(c).compareTo(MAX_TIMEOUT) < 0 ? period(c) : MAX_TIMEOUT;
    return asked.compareTo(cap) > 0 ? cap : asked;
  }

  public static int failureThreshold(VMSpec.HealthCheck c) {
    return c.failureThreshold() == null ? 3 : c.failureThreshold();
  }

  public Outcome probe(VMSpec.HealthCheck check, int hostPort) {
    Duration timeout = timeout(check);
    if (check.type() == HealthCheckType.TCP) {
      try (Socket s = new Socket()) {
        long deadline = System.nanoTime() + timeout.toNanos();
        s.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), hostPort), (int) timeout.toMillis());
        // user-mode networking accepts on the host side whatever the guest does, and closes
        // at once when the guest refuses: a connection that stays open (or speaks) is a listener
        long left = Math.max(1, (deadline - System.nanoTime()) / 1_000_000);
        s.setSoTimeout((int) Math.min(left, 500));
        try {
          if (s.getInputStream().read() < 0) {
            return new Outcome(false, "tcp port " + check.port() + ": connection closed, nothing listens in the guest");
          }
        } catch (java.net.SocketTimeoutException quiet) {
          // open and silent: a listener that waits for the client to speak
        }
        return new Outcome(true, "tcp port " + check.port() + " accepts connections");
      } catch (IOException e) {
        return new Outcome(false, "tcp port " + check.port() + ": " + e.getMessage());
      }
    }
    if (check.type() == HealthCheckType.HTTP) {
      String path = check.path() == null ? "/" : check.path();
      URI uri = URI.create("http://127.0.0.1:" + hostPort + (path.startsWith("/") ? path : "/" + path));
      // the deadline covers connecting, the answer's headers and its body
      var answer = http.sendAsync(HttpRequest.newBuilder(uri).timeout(timeout).GET().build(), HttpResponse.BodyHandlers.discarding());
      try {
        HttpResponse<Void> r = answer.get(timeout.toMillis(), java.util.concurrent.TimeUnit.MILLISECONDS);
        boolean ok = r.statusCode() >= 200 && r.statusCode() < 400;
        return new Outcome(ok, "http GET " + path + " on port " + check.port() + " answered " + r.statusCode());
      } catch (java.util.concurrent.ExecutionException e) {
        Throwable cause = e.getCause() == null ? e : e.getCause();
        // the request's own timeout and the wait below are the same deadline: either may fire first
        if (cause instanceof java.net.http.HttpConnectTimeoutException) {
          return new Outcome(false, "http GET " + path + " on port " + check.port() + ": no connection within " + timeout.toMillis() + " ms");
        }
        if (cause instanceof java.net.http.HttpTimeoutException) {
          return new Outcome(false, "http GET " + path + " on port " + check.port() + ": no answer within " + timeout.toMillis() + " ms");
        }
        return new Outcome(false, "http GET " + path + " on port " + check.port() + ": "
            + (cause.getMessage() == null ? cause.getClass().getSimpleName() : cause.getMessage()));
      } catch (java.util.concurrent.TimeoutException e) {
        answer.cancel(true);
        return new Outcome(false, "http GET " + path + " on port " + check.port() + ": no answer within " + timeout.toMillis() + " ms");
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return new Outcome(false, "interrupted");
      }
    }
    throw new IllegalArgumentException(check.type().wire() + " checks are not run by this agent");
  }
}
