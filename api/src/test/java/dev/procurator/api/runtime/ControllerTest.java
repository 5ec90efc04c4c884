package dev.procurator.api.runtime;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

class ControllerTest {
  /** A scheduler whose time moves only when the test says so. */
  static final class ManualScheduler implements Scheduler {
    private record Task(long at, Runnable task) {}

    private final List<Task> tasks = new ArrayList<>();
    private long now;

    @Override
    public synchronized void schedule(Duration delay, Runnable task) {
      tasks.add(new Task(now + delay.toNanos(), task));
    }

    void advance(Duration d) {
      List<Runnable> due = new ArrayList<>();
      synchronized (this) {
        now += d.toNanos();
        tasks.removeIf(t -> {
          if (t.at <= now) {
            due.add(t.task);
            return true;
          }
          return false;
        });
      }
      due.forEach(Runnable::run);
    }

    synchronized List<Long> pendingDelaysFromNow() {
      return tasks.stream().map(t -> t.at - now).toList();
    }
  }

  @Test
  void aKeyAddedTwiceWhileQueuedIsProcessedOnce() throws Exception {
    WorkQueue<String> q = new WorkQueue<>(new ManualScheduler());
    q.add("a");
    q.add("a");
    q.add("b");
    assertThat(q.length()).isEqualTo(2);
    assertThat(q.take()).hasValue("a");
    assertThat(q.take()).hasValue("b");
  }

  @Test
  void aKeyBeingProcessedIsNotHandedOutAgainButRequeuedAfterDone() throws Exception {
    WorkQueue<String> q = new WorkQueue<>(new ManualScheduler());
    q.add("a");
    assertThat(q.take()).hasValue("a");
    q.add("a");
    assertThat(q.length()).as("held back while a worker has it").isZero();
    q.done("a");
    assertThat(q.length()).isEqualTo(1);
    assertThat(q.take()).hasValue("a");
  }

  @Test
  void neverReconcilesOneKeyOnTwoWorkersAtOnce() throws Exception {
    Map<String, AtomicInteger> inFlight = new ConcurrentHashMap<>();
    AtomicInteger maxSeen = new AtomicInteger();
    AtomicInteger runs = new AtomicInteger();
    CountDownLatch release = new CountDownLatch(1);
    try (Controller<String> c = new Controller<String>("test", key -> {
      int now = inFlight.computeIfAbsent(key, k -> new AtomicInteger()).incrementAndGet();
      maxSeen.accumulateAndGet(now, Math::max);
      release.await();
      inFlight.get(key).decrementAndGet();
      runs.incrementAndGet();
      return Result.done();
    }, new ManualScheduler(), new Backoff<>(Duration.ofMillis(5), Duration.ofSeconds(1))).start(4)) {
      c.enqueue("vm/a");
      await().until(() -> inFlight.getOrDefault("vm/a", new AtomicInteger()).get() == 1);
      for (int i = 0; i < 10; i++) {
        c.enqueue("vm/a");
      }
      release.countDown();
      await().untilAsserted(() -> assertThat(runs.get()).isEqualTo(2));
      assertThat(maxSeen.get()).isEqualTo(1);
    }
  }

  @Test
  void failuresBackOffExponentiallyAndASuccessForgetsThem() throws Exception {
    ManualScheduler time = new ManualScheduler();
    List<String> outcomes = new CopyOnWriteArrayList<>();
    AtomicInteger calls = new AtomicInteger();
    Backoff<String> backoff = new Backoff<>(Duration.ofMillis(10), Duration.ofMillis(50));
    Controller<String> c = new Controller<>("test", key -> {
      if (calls.incrementAndGet() <= 4) {
        outcomes.add("fail");
        throw new IllegalStateException("not yet");
      }
      outcomes.add("ok");
      return Result.done();
    }, time, backoff);
    c.handle("k");
    assertThat(time.pendingDelaysFromNow()).containsExactly(Duration.ofMillis(10).toNanos());
    time.advance(Duration.ofMillis(10));
    c.queue().take();
    c.queue().done("k");
    c.handle("k");
    assertThat(time.pendingDelaysFromNow()).containsExactly(Duration.ofMillis(20).toNanos());
    time.advance(Duration.ofMillis(20));
    c.handle("k");
    c.handle("k");
    assertThat(time.pendingDelaysFromNow()).contains(Duration.ofMillis(50).toNanos());
    assertThat(backoff.failures("k")).isEqualTo(4);
    c.handle("k");
    assertThat(outcomes).containsExactly("fail", "fail", "fail", "fail", "ok");
    assertThat(backoff.failures("k")).isZero();
  }

  @Test
  void requeueAfterLooksAgainLaterAndTerminalFailuresAreNotRetried() throws Exception {
    ManualScheduler time = new ManualScheduler();
    Controller<String> c = new Controller<>("test", key -> switch (key) {
      case "poll" -> Result.requeueAfter(Duration.ofSeconds(2));
      default -> throw new TerminalException("bad spec");
    }, time, new Backoff<>(Duration.ofMillis(5), Duration.ofSeconds(1)));
    c.handle("poll");
    assertThat(c.queue().length()).isZero();
    time.advance(Duration.ofSeconds(1));
    assertThat(c.queue().length()).isZero();
    time.advance(Duration.ofSeconds(1));
    assertThat(c.queue().take()).hasValue("poll");

    c.handle("broken");
    time.advance(Duration.ofMinutes(10));
    assertThat(c.queue().length()).isZero();
  }

  @Test
  void aWriteThatLostARaceGoesBackOnTheQueueAndTheNextPassSucceeds() throws Exception {
    ManualScheduler time = new ManualScheduler();
    AtomicInteger calls = new AtomicInteger();
    Controller<ObjectKey> c = new Controller<>("test", key -> {
      if (calls.incrementAndGet() == 1) {
        throw new io.fabric8.kubernetes.client.KubernetesClientException("the object has been modified", 409, null);
      }
      return Result.done();
    }, time, new Backoff<>(Duration.ofMillis(5), Duration.ofSeconds(1)));
    ObjectKey key = ObjectKey.of("default", "web");
    c.handle(key);
    assertThat(time.pendingDelaysFromNow()).containsExactly(Duration.ofMillis(5).toNanos());
    time.advance(Duration.ofMillis(5));
    assertThat(c.queue().take()).hasValue(key);
    c.handle(key);
    assertThat(calls.get()).isEqualTo(2);
    assertThat(time.pendingDelaysFromNow()).isEmpty();
  }

  @Test
  void closeStopsTheWorkers() throws Exception {
    Controller<String> c = new Controller<String>("test", key -> Result.done(), new ManualScheduler(),
        new Backoff<>(Duration.ofMillis(5), Duration.ofSeconds(1))).start(2);
    assertThat(c.workers()).hasSize(2).allMatch(Thread::isAlive);
    c.close();
    assertThat(c.workers()).as("every worker has ended when close returns").noneMatch(Thread::isAlive);
    c.enqueue("after-close");
    assertThat(c.queue().length()).isZero();
  }

  @Test
  void passesAndTheQueueAreReportedUnderControllerRuntimesNames() throws Exception {
    List<String> seen = new CopyOnWriteArrayList<>();
    LoopMetrics metrics = new LoopMetrics() {
      @Override
      public void reconciled(String controller, String result, Duration took) {
        seen.add(controller + ":" + result);
      }

      @Override
      public void added(String queue) {
        seen.add(queue + ":add");
      }

      @Override
      public void retried(String queue) {
        seen.add(queue + ":retry");
      }
    };
    AtomicInteger pass = new AtomicInteger();
    Reconciler<String> r = key -> switch (pass.incrementAndGet()) {
      case 1 -> throw new IllegalStateException("boom");
      case 2 -> Result.requeueAfter(Duration.ofSeconds(3));
      default -> Result.done();
    };
    Controller<String> c = new Controller<>("loop", r, new ManualScheduler(), new Backoff<>(Duration.ofMillis(5), Duration.ofSeconds(1)), metrics);
    c.enqueue("k");
    c.handle("k");
    c.handle("k");
    c.handle("k");
    assertThat(seen).containsExactly("loop:add", "loop:retry", "loop:error", "loop:requeue_after", "loop:success");
  }
}
