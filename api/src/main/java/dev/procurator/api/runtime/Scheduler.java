package dev.procurator.api.runtime;

import java.time.Duration;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/** Runs something later. Production uses a timer thread; tests use a scheduler they advance by hand. */
@FunctionalInterface
public interface Scheduler extends AutoCloseable {
  void schedule(Duration delay, Runnable task);

  /** Drops what is still scheduled and frees the timer, if there is one. */
  @Override
  default void close() {}

  /** A daemon timer thread, ended by {@link #close}. */
  static Scheduler system() {
    ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor(
        Thread.ofPlatform().name("controller-timer").daemon(true).factory());
    return new Scheduler() {
      @Override
      public void schedule(Duration delay, Runnable task) {
        if (!timer.isShutdown()) {
          timer.schedule(task, delay.toNanos(), TimeUnit.NANOSECONDS);
        }
      }

      @Override
      public void close() {
        timer.shutdownNow();
      }
    };
  }
}
