package dev.procurator.controllers.clusters;

import dev.procurator.api.runtime.EventSpec;
import dev.procurator.api.v1alpha1.ClusterSpec;
import dev.procurator.api.v1alpha1.VM;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;

/**
 * The steps in order: {@code replicas} runs that many new VMs (and that many fewer old ones),
 * {@code pause} waits (for {@code pctl rollout promote} when it has no seconds), {@code analysis}
 * fails the revision if a new VM is not Healthy during it; then the rest of the VMs as a
 * {@link RollingUpdate}. A first revision and a rollback skip the steps.
 */
record Canary(List<ClusterSpec.Step> steps, RollingUpdate rolling) implements RolloutStrategy {
  Canary {
    steps = List.copyOf(steps);
  }

  /** One step's verdict: done, or what to do while it is not. */
  private record StepResult(boolean done, Move move) {
    static final StepResult DONE = new StepResult(true, null);

    static StepResult notYet(Move move) {
      return new StepResult(false, move);
    }
  }

  @Override
  public Move next(Situation s) {
    if (!s.trial()) {
      return rolling.next(s);
    }
    TemplateState state = s.state().step() == null ? s.state().atStep(0, s.now()) : s.state();
    // several steps may be done in one look (a pause of 0, a step already reached)
    List<EventSpec> events = new ArrayList<>();
    while (state.step() < steps.size()) {
      StepResult r = step(s, state);
      if (!r.done()) {
        return r.move().after(events);
      }
      state = state.atStep(state.step() + 1, s.now());
      events.add(EventSpec.normal("CanaryStep", "template " + s.template() + " revision " + s.target() + ": step " + state.step() + " of "
          + steps.size() + " done"));
    }
    return rolling.next(s, state).after(events);
  }

  private StepResult step(Situation s, TemplateState state) {
    ClusterSpec.Step step = steps.get(state.step());
    Health h = s.health();
    int n = weight(state.step(), s.replicas());
    int create = Math.max(0, n - s.fresh().size());
    if (step.replicas() != null) {
      // n new VMs, and as many fewer old ones, once the new ones are available
      if (h.available(s.fresh()) < n) {
        return StepResult.notYet(Move.of(create, List.of(), state));
      }
      int keepOld = Math.max(0, s.replicas() - n);
      List<VM> delete = s.stale().stream().sorted(Comparator.comparing((VM v) -> h.available(v))
          .thenComparing(v -> v.getMetadata().getCreationTimestamp())).limit(Math.max(0, s.stale().size() - keepOld)).toList();
      return delete.isEmpty() ? StepResult.DONE : StepResult.notYet(Move.of(create, delete, state));
    }
    if (step.pause() != null) {
      if (step.pause().seconds() == null) {
        return s.promoteRequested(state.stepStart()) ? StepResult.DONE : StepResult.notYet(Move.of(create, List.of(), state));
      }
      return waitFor(state.stepStart().plusSeconds(step.pause().seconds()), s, create, state);
    }
    if (step.analysis() != null) {
      for (VM vm : s.fresh()) {
        if (!Health.ready(vm)) {
          return StepResult.notYet(Move.failed(state, "analysis: VM " + vm.getMetadata().getName() + " was not Healthy during the "
              + step.analysis().seconds() + " s analysis"
              + (vm.getStatus() == null || vm.getStatus().message() == null ? "" : ": " + vm.getStatus().message())));
        }
      }
      return waitFor(state.stepStart().plusSeconds(step.analysis().seconds()), s, create, state);
    }
    return StepResult.DONE;
  }

  private static StepResult waitFor(Instant end, Situation s, int create, TemplateState state) {
    return s.now().isBefore(end) ? StepResult.notYet(Move.waitUntil(create, state, end)) : StepResult.DONE;
  }

  /** The canary VMs the steps up to {@code upTo} ask for: the last count given, at most replicas. */
  int weight(int upTo, int replicas) {
    int n = 0;
    for (int i = 0; i <= upTo && i < steps.size(); i++) {
      if (steps.get(i).replicas() != null) {
        n = Math.min(replicas, steps.get(i).replicas());
      }
    }
    return n;
  }

  @Override
  public Optional<String> awaitingPromote(Situation s) {
    int i = s.state().step() == null ? 0 : s.state().step();
    if (!s.trial() || i >= steps.size()) {
      return Optional.empty();
    }
    ClusterSpec.Pause pause = steps.get(i).pause();
    if (pause == null || pause.seconds() != null || s.promoteRequested(s.state().stepStart())) {
      return Optional.empty();
    }
    return Optional.of("template " + s.template() + " is paused at canary step " + (i + 1) + " of " + steps.size()
        + "; pctl rollout promote cluster/" + s.cluster() + " goes on");
  }

  @Override
  public boolean stepsDone(Situation s) {
    return !s.trial() || s.state().step() == null || s.state().step() >= steps.size();
  }
}
