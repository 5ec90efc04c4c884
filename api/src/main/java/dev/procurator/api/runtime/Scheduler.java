package dev.procurator.api.runtime;

import java.time.Duration;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/** Runs something later. Production uses a timer thread; tests use a scheduler they advance by hand. */
@FunctionalInterface
public interface Scheduler {
  void schedule(Duration delay, Runnable task);

  /** A daemon timer thread. */
  static Scheduler system() {
    ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor(
        Thread.ofPlatform().name("controller-timer").daemon(true).factory());
    return (delay, task) -> timer.schedule(task, delay.toNanos(), TimeUnit.NANOSECONDS);
  }
}
