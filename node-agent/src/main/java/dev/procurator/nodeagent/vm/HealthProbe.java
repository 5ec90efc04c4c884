package dev.procurator.nodeagent.vm;

import dev.procurator.api.v1alpha1.HealthCheckType;
import dev.procurator.api.v1alpha1.VMSpec;
import dev.procurator.nodeagent.guest.GuestAgentClient;
import dev.procurator.nodeagent.guest.GuestAgentProtocol;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * Runs one health check against its {@link Target}: a guest port forwarded to 127.0.0.1, the
 * guest's address on a bridge, or the guest agent. {@code http} passes on a 2xx or 3xx answer to
 * GET, {@code tcp} on an accepted connection, {@code exec} when the guest agent ran its command
 * and it exited 0 (its output's tail is the detail when it did not). A check never takes longer than
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

  /** Where a check reaches its guest. */
  public sealed interface Target {
    /** A guest port forwarded by user-mode networking to 127.0.0.1:{@code hostPort}. */
    record Forwarded(int hostPort) implements Target {}

    /** The guest's own address on a bridge (tap networking), reached from network namespace {@code netns} (null: the agent's). */
    record Direct(String address, String netns) implements Target {}

    /** The guest agent, for exec checks. */
    record Agent(GuestAgentClient client) implements Target {}

    /** Nothing reaches the guest for this check; {@code why} says so. */
    record Unreachable(String why) implements Target {}
  }

  public Outcome probe(VMSpec.HealthCheck check, int hostPort) {
    return probe(check, new Target.Forwarded(hostPort));
  }

  public Outcome probe(VMSpec.HealthCheck check, Target target) {
    Duration timeout = timeout(check);
    return switch (target) {
      case Target.Unreachable u -> new Outcome(false, u.why());
      case Target.Agent a -> exec(check, a.client(), timeout);
      case Target.Direct d when d.netns() != null -> inNamespace(check, d, timeout);
      case Target.Direct d -> check.type() == HealthCheckType.TCP ? tcp(check, d.address(), check.port(), false, timeout)
          : http(check, d.address(), check.port(), timeout);
      case Target.Forwarded f -> check.type() == HealthCheckType.TCP ? tcp(check, "127.0.0.1", f.hostPort(), true, timeout)
          : http(check, "127.0.0.1", f.hostPort(), timeout);
    };
  }

  /** How much of a failing command's output a check's detail shows. */
  static final int OUTPUT_TAIL = 300;

  private static Outcome exec(VMSpec.HealthCheck check, GuestAgentClient agent, Duration timeout) {
    String what = "exec " + String.join(" ", check.command());
    try {
      return outcome(check, agent.exec(check.command(), timeout), timeout);
    } catch (GuestAgentClient.NoAnswer e) {
      return new Outcome(false, what + ": " + e.getMessage());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return new Outcome(false, "interrupted");
    }
  }

  /** An exec check's outcome from the guest agent's answer: exit 0 passes; the detail ends with the output's tail. */
  static Outcome outcome(VMSpec.HealthCheck check, GuestAgentProtocol.Reply r, Duration timeout) {
    String out = r.output().strip();
    if (out.length() > OUTPUT_TAIL) {
      out = "…" + out.substring(out.length() - OUTPUT_TAIL);
    }
    // timeout(1) answers 124 when it ends a command; busybox's is ended by SIGTERM itself (128 + 15)
    String exit = r.exit() == 143 || r.exit() == 124 ? r.exit() + " (ended: it ran longer than its " + timeout.toSeconds() + " s)"
        : Integer.toString(r.exit());
    return new Outcome(r.exit() == 0, "exec " + String.join(" ", check.command()) + ": exit " + exit + (out.isEmpty() ? "" : ": " + out));
  }

  private static Outcome tcp(VMSpec.HealthCheck check, String host, int port, boolean forwarded, Duration timeout) {
    try (Socket s = new Socket()) {
      long deadline = System.nanoTime() + timeout.toNanos();
      s.connect(new InetSocketAddress(InetAddress.getByName(host), port), (int) timeout.toMillis());
      if (!forwarded) {
        return new Outcome(true, "tcp port " + check.port() + " accepts connections");
      }
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

  private Outcome http(VMSpec.HealthCheck check, String host, int port, Duration timeout) {
    String path = path(check);
    URI uri = URI.create("http://" + host + ":" + port + path);
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

  private static String path(VMSpec.HealthCheck check) {
    String path = check.path() == null ? "/" : check.path();
    return path.startsWith("/") ? path : "/" + path;
  }

  /**
   * An http or tcp check of a guest on a bridge inside network namespace {@code netns}, which a
   * socket of this process cannot reach: {@code curl} (http) or bash's {@code /dev/tcp} (tcp) run
   * there through {@code ip netns exec}, ended at the timeout.
   */
  private static Outcome inNamespace(VMSpec.HealthCheck check, Target.Direct d, Duration timeout) {
    String secs = String.format(java.util.Locale.ROOT, "%.1f", timeout.toMillis() / 1000.0);
    List<String> cmd = new ArrayList<>(List.of("ip", "netns", "exec", d.netns()));
    if (check.type() == HealthCheckType.TCP) {
      cmd.addAll(List.of("timeout", secs, "bash", "-c", "exec 3<>\"/dev/tcp/$0/$1\"", d.address(), Integer.toString(check.port())));
    } else {
      cmd.addAll(List.of("curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "--max-time", secs,
          "http://" + d.address() + ":" + check.port() + path(check)));
    }
    try {
      Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
      String out;
      try (var in = p.getInputStream()) {
        out = new String(in.readAllBytes(), java.nio.charset.StandardCharsets.UTF_8).strip();
      }
      if (!p.waitFor(timeout.toMillis() + 5000, java.util.concurrent.TimeUnit.MILLISECONDS)) {
        p.destroyForcibly();
        return new Outcome(false, check.type().wire() + " check in network namespace " + d.netns() + " did not end");
      }
      int rc = p.exitValue();
      if (check.type() == HealthCheckType.TCP) {
        return rc == 0 ? new Outcome(true, "tcp port " + check.port() + " accepts connections")
            : new Outcome(false, "tcp port " + check.port() + ": " + (rc == 124 ? "no connection within " + timeout.toMillis() + " ms"
                : out.isEmpty() ? "connection refused" : out.substring(out.lastIndexOf(':') + 1).strip()));
      }
      String path = path(check);
      if (rc == 0 && out.matches("[0-9]{3}")) {
        int code = Integer.parseInt(out);
        return new Outcome(code >= 200 && code < 400, "http GET " + path + " on port " + check.port() + " answered " + code);
      }
      return new Outcome(false, "http GET " + path + " on port " + check.port() + ": " + (rc == 28 ? "no answer within "
          + timeout.toMillis() + " ms" : rc == 7 ? "connection refused" : "curl exited " + rc));
    } catch (IOException e) {
      return new Outcome(false, check.type().wire() + " check in network namespace " + d.netns() + ": " + e.getMessage());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return new Outcome(false, "interrupted");
    }
  }
}
