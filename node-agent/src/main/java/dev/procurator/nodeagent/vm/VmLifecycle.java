package dev.procurator.nodeagent.vm;

import dev.procurator.api.runtime.Backoff;
import dev.procurator.api.runtime.Conditions;
import dev.procurator.api.runtime.Decision;
import dev.procurator.api.runtime.EventSpec;
import dev.procurator.api.runtime.Finalizers;
import dev.procurator.api.v1alpha1.NetworkMode;
import dev.procurator.api.v1alpha1.RestartPolicy;
import dev.procurator.api.v1alpha1.VM;
import dev.procurator.api.v1alpha1.VMPhase;
import dev.procurator.api.v1alpha1.VMSpec;
import dev.procurator.api.v1alpha1.VMStatus;
import io.fabric8.kubernetes.api.model.Condition;
import java.time.Duration;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.Locale;

/**
 * The node agent's decision for one VM, as a pure function: from the VM object and what the host
 * observes, the actions to take, the status the VM should show, the Events, and when to look
 * again. No I/O; {@code VmLifecycleTest} drives it row by row.
 *
 * <p>A VM's life, as this function moves it: bound here (with the agent's finalizer, which the
 * loop's dispatcher adds before it decides) → (pull) → (store image) → {@code Starting}
 * (Booted=False Booting) → ready line → {@code Running} (Booted=True Ready, Healthy from its
 * checks) → on an exit, a crash, a boot timeout or failed health checks, {@code Failed} or {@code
 * Stopped} with the reason, and per {@code restartPolicy} a restart after a backoff that doubles
 * with each failure in a row and is kept in {@code status.backoff}. Deletion stops the machine,
 * then removes the files and {@linkplain Decision#release() lets the VM go}. A VM gone from this
 * node (deleted, bound elsewhere, or deleted without the agent's finalizer) is {@link #gone}: its
 * machine is stopped and its files removed. Status is written before the actions that follow from
 * it, so an agent that dies between the two finds in the status what it was doing.
 */
public final class VmLifecycle {
  /** Booted reasons after which nothing is started again until the spec changes. */
  static final Set<String> FINAL_REASONS = Set.of("Crashed", "BootTimeout", "Unhealthy", "Exited", "StartFailed", "InvalidSpec",
      "Unsupported", "HypervisorUnavailable");
  /** Guest states in which a running hypervisor holds a dead guest. */
  static final Set<String> DEAD_STATES = Set.of("internal-error", "guest-panicked", "shutdown");
  /** How long a VM must have been ready before a failure no longer counts as part of a crash loop. */
  static final Duration STABLE_AFTER = Duration.ofSeconds(60);
  /** How soon a pull that failed is tried again. */
  static final Duration PULL_RETRY = Duration.ofSeconds(10);

  private VmLifecycle() {}

  /** Decides for {@code vm}, bound to this node and holding the agent's finalizer (or being deleted with it). */
  public static Decision<VMStatus, VmAction> decide(VM vm, Observation o, Instant now, VmLoop.Settings settings) {
    Pass p = new Pass(vm, o, now, settings);
    if (Finalizers.deleting(vm)) {
      p.delete();
    } else {
      p.live();
      if (vm.getSpec().secrets() != null && !vm.getSpec().secrets().isEmpty() && o.machine().isPresent()) {
        p.actions.add(new VmAction.SyncSecrets()); // a running guest's Secrets follow their objects
      }
    }
    return p.decision();
  }

  /**
   * What to do about a VM this node no longer has (deleted, bound elsewhere, or deleted without
   * the agent's finalizer), from what the host observes: stop whatever runs, then remove its files.
   * Nothing is written: the VM's status, if it still has one, is someone else's to write.
   */
  public static List<VmAction> gone(Observation o) {
    if (o.machine().isPresent()) {
      return o.inFlight().orElse(null) instanceof Observation.Operation.Stopping ? List.of() : List.of(new VmAction.Stop("Released"));
    }
    return o.inFlight().isEmpty() && o.hasWorkDir() ? List.of(new VmAction.Release()) : List.of();
  }

  /**
   * The health checks this agent runs: every one the VM declares. http and tcp reach the guest
   * through forwarded ports, or on its address on the bridge for tap VMs; exec runs through the
   * guest agent. One that cannot reach its guest fails, saying why.
   */
  static List<VMSpec.HealthCheck> checks(VMSpec spec) {
    return spec.healthChecks() == null ? List.of() : List.copyOf(spec.healthChecks());
  }

  /**
   * The store path the VM's status records for its current generation (what its closure name was
   * resolved to when this generation started), or null.
   */
  public static String recordedClosure(VM vm) {
    VMStatus st = vm.getStatus();
    return st != null && st.closure() != null && Objects.equals(st.observedGeneration(), vm.getMetadata().getGeneration())
        ? st.closure() : null;
  }

  static boolean isTap(VMSpec spec) {
    return spec.network() != null && spec.network().mode() == NetworkMode.TAP;
  }

  /** One decision being put together. */
  private static final class Pass {
    final VM vm;
    final Observation o;
    final Instant now;
    final VmLoop.Settings settings;
    final List<VmAction> actions = new ArrayList<>();
    final List<EventSpec> events = new ArrayList<>();
    final VMStatus old;
    VMStatus next;
    Duration requeue;
    boolean released;

    Pass(VM vm, Observation o, Instant now, VmLoop.Settings settings) {
      this.vm = vm;
      this.o = o;
      this.now = now;
      this.settings = settings;
      this.old = vm.getStatus();
      this.next = old;
    }

    Decision<VMStatus, VmAction> decision() {
      Decision<VMStatus, VmAction> d = new Decision<>(Objects.equals(next, old) ? null : next, actions, events, requeue, false);
      return released ? d.release() : d;
    }

    // ---- deletion: power off, then clean up and let the object go ----

    void delete() {
      if (o.machine().isPresent() || o.inFlight().orElse(null) instanceof Observation.Operation.Starting) {
        status(VMPhase.STOPPING, booted(Conditions.FALSE, "Deleting", "stopping: the VM is being deleted"), null);
        if (o.machine().isPresent() && stopOnce("Deleting")) {
          events.add(EventSpec.normal("Killing", "stopping the VM: it is being deleted"));
        }
        return;
      }
      if (o.inFlight().orElse(null) instanceof Observation.Operation.Stopping) {
        return; // the stop's end brings it back
      }
      actions.add(new VmAction.Release());
      released = true;
    }

    // ---- a VM that should run here ----

    void live() {
      VMSpec spec = vm.getSpec();
      if (o.hypervisor().isEmpty()) {
        String hv = spec.hypervisor() == null ? "qemu" : spec.hypervisor().wire();
        fail(VMPhase.FAILED, "HypervisorUnavailable", "this node has no " + hv + " hypervisor");
        return;
      }
      if (o.machine().isPresent()) {
        running(o.machine().get());
      } else {
        stopped();
      }
    }

    void running(Observation.Machine m) {
      if (o.inFlight().orElse(null) instanceof Observation.Operation.Stopping) {
        return; // the stop's end brings it back
      }
      VMSpec spec = vm.getSpec();
      if (o.launch() == null || !o.launch().matches(spec)) {
        status(VMPhase.STOPPING, booted(Conditions.FALSE, "SpecChanged", "stopping to boot the changed spec"), null);
        if (stopOnce("SpecChanged")) {
          events.add(EventSpec.normal("Killing", "stopping the VM to boot its changed spec"));
        }
        return;
      }
      if (old != null && (old.phase() == VMPhase.FAILED || old.phase() == VMPhase.STOPPED || old.phase() == VMPhase.STOPPING)) {
        // the status says it should be down (an agent died while stopping it): finish the stop
        stopOnce(Conditions.reason(old.conditions(), "Booted"));
        return;
      }
      if (m.state().isPresent() && DEAD_STATES.contains(m.state().get())) {
        failure(m, "Crashed", o.hypervisor().get() + " reports the guest as " + m.state().get() + "; last console lines: "
            + o.console().tail(3));
        return;
      }
      List<VMSpec.HealthCheck> checks = checks(spec);
      boolean ready = o.readySeen() || old != null && Conditions.isTrue(old.conditions(), "Booted");
      if (!ready) {
        Duration timeout = bootTimeout(spec);
        Instant deadline = m.startedAt().plus(timeout);
        if (!now.isBefore(deadline)) {
          String state = m.state().filter(s -> !s.equals("running")).map(s -> " (" + o.hypervisor().get() + " reports " + s + ")")
              .orElse("");
          failure(m, "BootTimeout", "the guest did not print " + ConsoleLog.READY_LINE + " within " + timeout.toSeconds() + " s" + state
              + "; last console lines: " + o.console().tail(5));
          return;
        }
        Condition booting = old != null && "Booting".equals(Conditions.reason(old.conditions(), "Booted"))
            ? Conditions.find(old.conditions(), "Booted").get()
            : booted(Conditions.FALSE, "Booting", "waiting for the guest's ready line");
        status(VMPhase.STARTING, booting, null);
        next = withPorts(next, o.launch().ports());
        requeue = Duration.between(now, deadline);
        return;
      }
      boolean becameReady = old == null || !Conditions.isTrue(old.conditions(), "Booted");
      Condition bootedReady = becameReady
          ? booted(Conditions.TRUE, "Ready", String.format(Locale.ROOT, "the guest printed its ready line %.1f s after start",
              Math.max(0, Duration.between(m.startedAt(), now).toMillis()) / 1000.0))
          : Conditions.find(old.conditions(), "Booted").get();
      if (becameReady) {
        events.add(EventSpec.normal("Ready", bootedReady.getMessage()));
      }
      Condition healthy = null;
      if (!checks.isEmpty()) {
        List<String> failing = new ArrayList<>();
        boolean allRun = true;
        for (int i = 0; i < checks.size(); i++) {
          VMSpec.HealthCheck c = checks.get(i);
          Observation.Probe pr = i < o.probes().size() ? o.probes().get(i) : Observation.Probe.notRun();
          if (!pr.run()) {
            allRun = false;
          } else if (!pr.lastPassed()) {
            String detail = pr.lastDetail().orElse("failed");
            int threshold = HealthProbe.failureThreshold(c);
            if (pr.consecutiveFailures() >= threshold) {
              failure(m, "Unhealthy", "health check failed " + pr.consecutiveFailures() + " times in a row: " + detail);
              next = next.withConditions(Conditions.set(next.conditions(), Conditions.of("Healthy", Conditions.FALSE, "Unhealthy", detail, now)));
              return;
            }
            failing.add(detail + " (" + pr.consecutiveFailures() + " of " + threshold + ")");
          }
        }
        healthy = !failing.isEmpty() ? Conditions.of("Healthy", Conditions.FALSE, "CheckFailing", String.join("; ", failing), now)
            : allRun ? Conditions.of("Healthy", Conditions.TRUE, "ChecksPassing", "all " + checks.size() + " health checks pass", now)
            : Conditions.of("Healthy", Conditions.UNKNOWN, "NotYetChecked", "no health check has run yet", now);
        if (!failing.isEmpty() && !Conditions.reason(old == null ? null : old.conditions(), "Healthy").equals("CheckFailing")) {
          events.add(EventSpec.warning("Unhealthy", String.join("; ", failing)));
        }
        actions.add(new VmAction.WatchHealth(checks));
      }
      status(VMPhase.RUNNING, bootedReady, healthy);
      next = withPorts(next, o.launch().ports());
      requeue = settings.resync();
      // after a while up, earlier failures no longer count toward a crash loop
      if (next.backoff() != null) {
        Instant stableAt = m.startedAt().plus(STABLE_AFTER);
        if (!now.isBefore(stableAt)) {
          next = next.withBackoff(null);
        } else if (Duration.between(now, stableAt).compareTo(requeue) < 0) {
          requeue = Duration.between(now, stableAt);
        }
      }
    }

    void stopped() {
      if (o.inFlight().isPresent()) {
        return; // a pull, start or stop is under way; its end brings the VM back
      }
      VMSpec spec = vm.getSpec();
      String booted = old == null ? "" : Conditions.reason(old.conditions(), "Booted");
      boolean sameGeneration = old != null && Objects.equals(old.observedGeneration(), vm.getMetadata().getGeneration());
      Optional<Observation.Failure> startFailed = o.lastFailure().filter(f -> f.kind() == Observation.Failure.Kind.START);
      if (startFailed.isPresent() && booted.equals("Booting")) {
        Observation.Failure f = startFailed.get();
        if (f.reason().equals("InvalidSpec")) {
          fail(VMPhase.FAILED, "InvalidSpec", f.message());
        } else {
          failure(null, f.reason(), f.message());
        }
        return;
      }
      boolean wasUp = old != null && (old.phase() == VMPhase.STARTING || old.phase() == VMPhase.RUNNING)
          && (booted.equals("Booting") || booted.equals("Ready")) && o.launch() != null;
      if (wasUp) {
        boolean clean = o.console().poweredOff();
        failure(null, clean ? "Exited" : "Crashed", clean ? "the guest powered off"
            : "the hypervisor exited without the guest powering off; last console lines: " + o.console().tail(3));
        return;
      }
      if (sameGeneration && FINAL_REASONS.contains(booted)
          && (old.phase() == VMPhase.FAILED || old.phase() == VMPhase.STOPPED)) {
        return; // stays down until the spec changes
      }
      boolean restart = false;
      if (sameGeneration && booted.equals("BackOff") && old.backoff() != null) {
        Instant at = parse(old.backoff().restartAt());
        if (at != null && now.isBefore(at)) {
          requeue = Duration.between(now, at);
          return;
        }
        restart = true;
      }
      start(spec, restart, sameGeneration);
    }

    void start(VMSpec spec, boolean restart, boolean sameGeneration) {
      if (isTap(spec) && !o.tapAvailable()) {
        fail(VMPhase.FAILED, "Unsupported", "this node has no bridge for tap networking (its agent runs without --tap-bridge);"
            + " use network mode user");
        return;
      }
      if (!o.missingSecrets().isEmpty()) {
        // not a failure: the VM waits, as a pod waits for its Secret, and starts when it appears
        String names = String.join(", ", o.missingSecrets());
        String message = "waiting for Secret" + (o.missingSecrets().size() == 1 ? " " : "s ") + names + " in namespace "
            + vm.getMetadata().getNamespace();
        if (!Conditions.reason(old == null ? null : old.conditions(), "SecretsReady").equals("SecretNotFound")) {
          events.add(EventSpec.warning("SecretNotFound", message));
        }
        status(VMPhase.PENDING, Conditions.of("SecretsReady", Conditions.FALSE, "SecretNotFound", message, now), null);
        requeue = PULL_RETRY;
        return;
      }
      if (vm.getSpec().secrets() != null && !vm.getSpec().secrets().isEmpty() && next != null) {
        next = next.withConditions(Conditions.set(next.conditions(),
            Conditions.of("SecretsReady", Conditions.TRUE, "Found", "every Secret the VM mounts is here", now)));
      }
      String booted = old == null ? "" : Conditions.reason(old.conditions(), "Booted");
      switch (o.boot()) {
        case Observation.Boot.Missing missing -> {
          if (!booted.equals(missing.reason())) {
            actions.add(new VmAction.CountFailure(missing.reason()));
            events.add(EventSpec.warning(missing.reason(), missing.message()));
          }
          status(VMPhase.FAILED, booted(Conditions.FALSE, missing.reason(), missing.message()), null);
          // the file may yet appear (an image being built, a closure being pushed): look again
          requeue = PULL_RETRY;
          return;
        }
        case Observation.Boot.Unresolved unresolved -> {
          Optional<Observation.Failure> failed = o.lastFailure().filter(f -> f.kind() == Observation.Failure.Kind.RESOLVE);
          if (failed.isPresent() && now.isBefore(failed.get().at().plus(PULL_RETRY))) {
            Observation.Failure f = failed.get();
            if (!booted.equals(f.reason())) {
              actions.add(new VmAction.CountFailure(f.reason()));
              events.add(EventSpec.warning(f.reason(), f.message()));
            }
            // a name the cache does not know may yet be pushed, and a cache that cannot answer now may
            // later: the VM waits here, as for a Secret; a node with no cache at all cannot have it
            VMPhase phase = f.reason().equals(BootResolver.NAME_NOT_FOUND) || f.reason().equals(BootResolver.CACHE_UNAVAILABLE)
                ? VMPhase.PENDING : VMPhase.FAILED;
            status(phase, booted(Conditions.FALSE, f.reason(), f.message()), null);
            requeue = Duration.between(now, f.at().plus(PULL_RETRY));
            return;
          }
          if (!booted.equals(BootResolver.NAME_NOT_FOUND) && !booted.equals(BootResolver.CACHE_UNAVAILABLE)
              && !booted.equals(BootResolver.MISSING)) {
            status(VMPhase.STARTING, booted(Conditions.FALSE, "Resolving", "resolving closure name " + unresolved.name()
                + " through the binary cache"), null);
          }
          actions.add(new VmAction.Resolve(unresolved.name()));
          return;
        }
        case Observation.Boot.NeedsPull pull -> {
          Optional<Observation.Failure> failed = o.lastFailure().filter(f -> f.kind() == Observation.Failure.Kind.PULL);
          if (failed.isPresent() && now.isBefore(failed.get().at().plus(PULL_RETRY))) {
            if (!booted.equals("BootSourceMissing")) {
              actions.add(new VmAction.CountFailure("BootSourceMissing"));
              events.add(EventSpec.warning("BootSourceMissing", failed.get().message()));
            }
            status(VMPhase.FAILED, booted(Conditions.FALSE, "BootSourceMissing", failed.get().message()), null);
            if (vm.getSpec().boot() != null && vm.getSpec().boot().unresolved()) {
              next = next.withClosure(null); // what the name stood for cannot be had: the next try asks the cache again
            }
            requeue = Duration.between(now, failed.get().at().plus(PULL_RETRY));
            return;
          }
          if (!booted.equals("BootSourceMissing")) {
            status(VMPhase.STARTING, booted(Conditions.FALSE, "Pulling", "pulling closure " + pull.closure() + " from the binary cache"),
                null);
          }
          next = next == null ? null : next.withClosure(pull.closure());
          events.add(EventSpec.normal("Pulling", "pulling closure " + pull.closure() + " from the binary cache"));
          actions.add(new VmAction.Pull(pull.closure()));
          return;
        }
        case Observation.Boot.NeedsStore store -> {
          String message = "building the store image of closure " + store.closure();
          status(VMPhase.STARTING, booted(Conditions.FALSE, "PreparingStore", message), null);
          next = next.withClosure(store.closure());
          events.add(EventSpec.normal("PreparingStore", message));
          actions.add(new VmAction.PrepareStore(store.closure()));
        }
        case Observation.Boot.Present present -> {
          String how = o.hypervisor().get() + (o.accelerator() == null ? "" : " (" + o.accelerator() + ")");
          int restarts = restartCount() + (restart ? 1 : 0);
          status(VMPhase.STARTING, booted(Conditions.FALSE, "Booting", "starting " + how), null);
          next = next.withRestartCount(restarts).withPorts(old == null ? null : old.ports()).withBackoff(sameGeneration ? next.backoff() : null)
              .withClosure(present.closure());
          events.add(EventSpec.normal("Starting", (restart ? "restarting the VM with " : "starting the VM with ") + how));
          actions.add(new VmAction.Start(restart));
        }
      }
    }

    /**
     * The machine ended (or is ended now, when {@code m} runs) for {@code reason}: down for good, or
     * a restart after a backoff, per the restart policy.
     */
    void failure(Observation.Machine m, String reason, String message) {
      boolean clean = reason.equals("Exited");
      RestartPolicy policy = vm.getSpec().restartPolicy() == null ? RestartPolicy.ALWAYS : vm.getSpec().restartPolicy();
      boolean restart = policy == RestartPolicy.ALWAYS || policy == RestartPolicy.ON_FAILURE && !clean;
      VMPhase phase = clean ? VMPhase.STOPPED : VMPhase.FAILED;
      if (!clean) {
        actions.add(new VmAction.CountFailure(reason));
      }
      events.add(clean ? EventSpec.normal(reason, message) : EventSpec.warning(reason, message));
      if (m != null) {
        stopOnce(reason);
      }
      if (!restart) {
        status(phase, booted(Conditions.FALSE, reason, message), reason.equals("Unhealthy") ? null : notRunning());
        next = next.withBackoff(null);
        return;
      }
      // a VM that was up for a while starts a new count; one that keeps failing waits longer each time
      boolean stable = m != null && !now.isBefore(m.startedAt().plus(STABLE_AFTER))
          && (o.readySeen() || old != null && Conditions.isTrue(old.conditions(), "Booted"));
      int failures = stable || old == null || old.backoff() == null || old.backoff().failures() == null ? 1 : old.backoff().failures() + 1;
      Duration delay = Backoff.delay(settings.restartBackoff(), settings.maxRestartBackoff(), failures);
      Instant at = now.plus(delay);
      status(phase, booted(Conditions.FALSE, "BackOff", message + "; restarting in " + delay.toMillis() / 1000.0 + " s"),
          reason.equals("Unhealthy") ? null : notRunning());
      next = next.withBackoff(new VMStatus.RestartBackoff(failures, at.toString()));
      events.add(EventSpec.warning("BackOff", "back-off " + delay.toMillis() / 1000.0 + " s restarting the failed VM (" + failures
          + (failures == 1 ? " failure)" : " failures in a row)")));
      requeue = delay;
    }

    /** Down for a reason that a restart cannot fix; stays so until the spec changes. */
    void fail(VMPhase phase, String reason, String message) {
      if (!reason.equals(Conditions.reason(old == null ? null : old.conditions(), "Booted"))) {
        events.add(EventSpec.warning(reason, message));
      }
      status(phase, booted(Conditions.FALSE, reason, message), null);
    }

    /** Asks for a stop unless one is under way; true when it asked. */
    boolean stopOnce(String reason) {
      if (o.inFlight().orElse(null) instanceof Observation.Operation.Stopping) {
        return false;
      }
      actions.add(new VmAction.Stop(reason));
      return true;
    }

    int restartCount() {
      return old == null || old.restartCount() == null ? 0 : old.restartCount();
    }

    Duration bootTimeout(VMSpec spec) {
      return spec.bootTimeoutSeconds() == null ? settings.bootTimeout() : Duration.ofSeconds(spec.bootTimeoutSeconds());
    }

    Condition booted(String status, String reason, String message) {
      return Conditions.of("Booted", status, reason, message, now);
    }

    /** A VM that does not run is not known to be healthy. */
    Condition notRunning() {
      return vm.getSpec().healthChecks() == null || vm.getSpec().healthChecks().isEmpty() ? null
          : Conditions.of("Healthy", Conditions.UNKNOWN, "NotRunning", "the VM is not running", now);
    }

    /** The next status: {@code phase}, the conditions set into the current ones, the message of {@code main}. */
    void status(VMPhase phase, Condition main, Condition other) {
      VMStatus base = VMStatus.orEmpty(next);
      if (!Objects.equals(base.observedGeneration(), vm.getMetadata().getGeneration())) {
        base = base.withClosure(null); // what a closure name was resolved to holds for the generation that resolved it
      }
      if (o.machine().isPresent() && o.launch() != null && o.launch().matches(vm.getSpec()) && o.launch().boot() != null) {
        base = base.withClosure(o.launch().boot().closure()); // what runs, also across a spec change that needs no new boot
      }
      next = base.withPhase(phase, main.getMessage()).withNodeName(vm.getSpec().nodeName())
          .withObservedGeneration(vm.getMetadata().getGeneration())
          .withConditions(Conditions.setAll(base.conditions(), main, other))
          .withRestartCount(base.restartCount() == null ? 0 : base.restartCount());
    }

    /** The ports the machine was launched with, or those the status shows when it was launched with none. */
    static VMStatus withPorts(VMStatus s, List<VMSpec.PortForward> ports) {
      return ports == null || ports.isEmpty() ? s : s.withPorts(ports);
    }

    static Instant parse(String t) {
      try {
        return t == null ? null : Instant.parse(t);
      } catch (DateTimeParseException e) {
        return null;
      }
    }
  }
}
