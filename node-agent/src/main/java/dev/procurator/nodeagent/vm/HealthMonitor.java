package dev.procurator.nodeagent.vm;

import dev.procurator.api.runtime.ObjectKey;
import dev.procurator.api.v1alpha1.HealthCheckType;
import dev.procurator.api.v1alpha1.NetworkMode;
import dev.procurator.api.v1alpha1.VMSpec;
import dev.procurator.nodeagent.guest.GuestAgentClient;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/**
 * Runs the health checks of the running VMs on their periods, each probe on a virtual thread of
 * its own, and wakes a VM's loop only when what its checks found changes: a check that fails (each
 * time, as the count toward its threshold moves), or one that passes again. A VM whose checks keep
 * passing costs its loop nothing. Results belong to one boot (the machine's pid): a new boot starts
 * from nothing. Thread-safe.
 */
public final class HealthMonitor implements AutoCloseable {
  /**
   * How the checks of one machine reach its guest: what was launched (forwarded ports, the
   * guest's address on a bridge), the socket of its guest agent (null: its hypervisor gives
   * none), and the network namespace its bridge lives in (null: the agent's).
   */
  public record Reach(Launch launch, Path agentSocket, String netns) {}

  /** The checks of one machine and what they found. */
  private static final class Watched {
    final long pid;
    final List<VMSpec.HealthCheck> checks;
    final Reach reach;
    final GuestAgentClient agent;
    final Observation.Probe[] results;
    final List<ScheduledFuture<?>> tasks = new ArrayList<>();

    Watched(long pid, List<VMSpec.HealthCheck> checks, Reach reach) {
      this.pid = pid;
      this.checks = checks;
      this.reach = reach;
      this.agent = reach.agentSocket() == null ? null : new GuestAgentClient(reach.agentSocket());
      this.results = new Observation.Probe[checks.size()];
      java.util.Arrays.fill(results, Observation.Probe.notRun());
    }
  }

  private final HealthProbe prober;
  private final Consumer<ObjectKey> wake;
  private final ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor(
      Thread.ofPlatform().daemon().name("health-timer").factory());
  private final Map<ObjectKey, Watched> watched = new ConcurrentHashMap<>();

  public HealthMonitor(HealthProbe prober, Consumer<ObjectKey> wake) {
    this.prober = prober;
    this.wake = wake;
  }

  /** Runs {@code checks} against machine {@code pid} of {@code key}; already running for that machine and checks, nothing changes. */
  public void watch(ObjectKey key, long pid, List<VMSpec.HealthCheck> checks, Reach reach) {
    Watched w = watched.compute(key, (k, old) -> {
      if (old != null && old.pid == pid && old.checks.equals(checks) && Objects.equals(old.reach, reach)) {
        return old;
      }
      if (old != null) {
        old.tasks.forEach(t -> t.cancel(false));
      }
      return new Watched(pid, List.copyOf(checks), reach);
    });
    synchronized (w) {
      if (!w.tasks.isEmpty()) {
        return;
      }
      for (int i = 0; i < w.checks.size(); i++) {
        int index = i;
        VMSpec.HealthCheck c = w.checks.get(i);
        long period = HealthProbe.period(c).toMillis();
        w.tasks.add(timer.scheduleWithFixedDelay(() -> Thread.ofVirtual().name("probe-" + key).start(() -> probe(key, w, index)),
            0, period, TimeUnit.MILLISECONDS));
      }
    }
  }

  private void probe(ObjectKey key, Watched w, int i) {
    VMSpec.HealthCheck c = w.checks.get(i);
    HealthProbe.Outcome out = prober.probe(c, target(c, w.reach, w.agent));
    boolean changed;
    synchronized (w) {
      if (watched.get(key) != w) {
        return; // forgotten or replaced while it ran
      }
      Observation.Probe before = w.results[i];
      int failures = out.passed() ? 0 : before.consecutiveFailures() + 1;
      w.results[i] = new Observation.Probe(failures, Optional.of(out.detail()), out.passed(), true);
      changed = !before.run() || !out.passed() || !before.lastPassed();
    }
    if (changed) {
      wake.accept(key);
    }
  }

  /** Where check {@code c} reaches the guest that {@code reach} describes. */
  static HealthProbe.Target target(VMSpec.HealthCheck c, Reach reach, GuestAgentClient agent) {
    if (c.type() == HealthCheckType.EXEC) {
      return agent == null ? new HealthProbe.Target.Unreachable("exec checks run through the guest agent, and this VM's hypervisor"
          + " gives the node agent no channel to one") : new HealthProbe.Target.Agent(agent);
    }
    Launch l = reach.launch();
    if (l != null && l.network() != null && l.network().mode() == NetworkMode.TAP) {
      return l.guestAddress() == null ? new HealthProbe.Target.Unreachable(c.type().wire() + " port " + c.port()
          + ": the node agent does not know the guest's address on the bridge (give it as procurator.ip=ADDR/PREFIX on the kernel"
          + " command line, or use an exec check)") : new HealthProbe.Target.Direct(l.guestAddress(), reach.netns());
    }
    int hostPort = c.port() == null || l == null ? -1 : l.hostPort(c.port());
    return hostPort < 0 ? new HealthProbe.Target.Unreachable("port " + c.port() + " is not forwarded") : new HealthProbe.Target.Forwarded(hostPort);
  }

  /** What the checks of machine {@code pid} of {@code key} found so far; none run yet when it is not watched. */
  public List<Observation.Probe> results(ObjectKey key, long pid) {
    Watched w = watched.get(key);
    if (w == null || w.pid != pid) {
      return List.of();
    }
    synchronized (w) {
      return List.of(w.results);
    }
  }

  /** Stops the checks of {@code key}. */
  public void forget(ObjectKey key) {
    Watched w = watched.remove(key);
    if (w != null) {
      synchronized (w) {
        w.tasks.forEach(t -> t.cancel(false));
      }
    }
  }

  @Override
  public void close() {
    timer.shutdownNow();
    watched.clear();
  }
}
