package dev.procurator.apiserver.testing.history;

import static org.assertj.core.api.Assertions.assertThat;

import dev.procurator.apiserver.testing.history.LinearizabilityChecker.Result;
import dev.procurator.apiserver.testing.history.LinearizabilityChecker.Verdict;
import dev.procurator.apiserver.testing.history.Operation.Input;
import dev.procurator.apiserver.testing.history.Operation.Output;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class LinearizabilityCheckerTest {
  private static final Duration BUDGET = Duration.ofSeconds(10);
  private final List<Operation> history = new ArrayList<>();

  // ------------------------------------------------ a small language for histories; times are arbitrary units

  private void op(int client, long call, long ret, Input in, Output out) {
    history.add(new Operation(history.size(), client, "cm", in, out, call, ret));
  }

  private void op(int client, String key, long call, long ret, Input in, Output out) {
    history.add(new Operation(history.size(), client, key, in, out, call, ret));
  }

  private static Input create(String v) {
    return new Input.Create(v);
  }

  private static Input get() {
    return new Input.Get();
  }

  private static Input update(String v, String rv) {
    return new Input.Update(v, rv);
  }

  private static Input delete() {
    return new Input.Delete();
  }

  private static Output ok(String rv) {
    return new Output.Written(rv);
  }

  private static Output read(String v, String rv) {
    return new Output.Read(v, rv);
  }

  private static Output deleted() {
    return new Output.Deleted();
  }

  private static Output notFound() {
    return new Output.NotFound();
  }

  private static Output conflict() {
    return new Output.Conflict();
  }

  private static Output unknown() {
    return new Output.Unknown();
  }

  private Result check() {
    Result r = LinearizabilityChecker.check(history, BUDGET);
    System.out.println(r.describe(0));
    return r;
  }

  // ------------------------------------------------ sequential

  @Test
  void aSequentialHistoryTheRegisterAllowsIsLinearizable() {
    op(1, 0, 1, create("a"), ok("10"));
    op(1, 2, 3, get(), read("a", "10"));
    op(2, 4, 5, create("x"), new Output.AlreadyExists());
    op(2, 6, 7, update("b", "10"), ok("11"));
    op(1, 8, 9, update("c", "10"), conflict());
    op(1, 10, 11, get(), read("b", "11"));
    op(2, 12, 13, delete(), deleted());
    op(1, 14, 15, get(), notFound());
    op(1, 16, 17, update("d", "11"), notFound());
    op(2, 18, 19, delete(), notFound());
    op(2, 20, 21, create("e"), ok("14"));
    op(1, 22, 23, get(), read("e", "14"));

    assertThat(check().verdict()).isEqualTo(Verdict.LINEARIZABLE);
  }

  @Test
  void anEmptyHistoryIsLinearizable() {
    assertThat(check().verdict()).isEqualTo(Verdict.LINEARIZABLE);
  }

  @Test
  void aReadOfAnObjectNeverCreatedIsNot() {
    op(1, 0, 1, get(), read("a", "10"));

    assertThat(check().verdict()).isEqualTo(Verdict.NOT_LINEARIZABLE);
  }

  // ------------------------------------------------ concurrency

  @Test
  void overlappingWritesMayTakeEffectInEitherOrder() {
    op(1, 0, 1, create("a"), ok("10"));
    // client 2's update expects the version client 1's concurrent update produced: 1 then 2
    op(1, 10, 30, update("b", "10"), ok("11"));
    op(2, 15, 35, update("c", "11"), ok("12"));
    // and on another object the later call took effect first: 4 then 3
    op(3, "other", 0, 1, create("a"), ok("20"));
    op(3, "other", 10, 30, update("b", "21"), ok("22"));
    op(4, "other", 15, 25, update("c", "20"), ok("21"));
    // reads overlapping both see the state before, between or after
    op(5, 12, 40, get(), read("a", "10"));
    op(6, 13, 40, get(), read("b", "11"));
    op(7, 36, 40, get(), read("c", "12"));
    op(5, "other", 12, 40, get(), read("b", "22"));
    op(6, "other", 13, 40, get(), read("a", "20"));

    assertThat(check().verdict()).isEqualTo(Verdict.LINEARIZABLE);
  }

  @Test
  void ofTwoConcurrentUpdatesFromOneVersionOneWinsAndTheOtherConflicts() {
    op(1, 0, 1, create("a"), ok("10"));
    op(1, 10, 30, update("b", "10"), conflict());
    op(2, 12, 20, update("c", "10"), ok("11"));
    op(1, 40, 41, get(), read("c", "11"));

    assertThat(check().verdict()).isEqualTo(Verdict.LINEARIZABLE);
  }

  @Test
  void twoReadsInRealTimeOrderMustNotSeeTheWriteAndThenTheStateBeforeIt() {
    op(1, 0, 1, create("a"), ok("10"));
    op(1, 10, 50, update("b", "10"), ok("11"));
    op(2, 20, 30, get(), read("b", "11"));
    op(3, 35, 45, get(), read("a", "10"));

    Result r = check();
    assertThat(r.verdict()).isEqualTo(Verdict.NOT_LINEARIZABLE);
    assertThat(r.anomaly()).extracting(Operation::id).containsExactly(1, 2, 3);
  }

  // ------------------------------------------------ the anomalies a store must never show

  @Test
  void aStaleReadAfterAnAcknowledgedWriteIsNot() {
    op(1, 0, 1, create("a"), ok("10"));
    for (int i = 0; i < 20; i++) {
      op(2, 2 + 2 * i, 3 + 2 * i, get(), read("a", "10"));
    }
    op(1, 100, 110, update("b", "10"), ok("11"));
    op(2, 120, 130, get(), read("a", "10"));
    op(2, 140, 150, get(), read("b", "11"));

    Result r = check();
    assertThat(r.verdict()).isEqualTo(Verdict.NOT_LINEARIZABLE);
    assertThat(r.key()).isEqualTo("cm");
    // the smallest anomaly: the acknowledged update and the read after it, nothing of the 20 reads before
    assertThat(r.anomaly()).extracting(Operation::id).containsExactly(21, 22);
    assertThat(r.describe(0)).contains("object cm", "update(b, rv=10) -> ok rv=11", "get -> a rv=10");
  }

  @Test
  void aLostAcknowledgedUpdateIsNot() {
    op(1, 0, 1, create("a"), ok("10"));
    op(1, 10, 11, update("b", "10"), ok("11"));
    // the server restarts without it: the old state is back and accepts a write on its version
    op(2, 50, 51, update("c", "10"), ok("12"));
    op(2, 60, 61, get(), read("c", "12"));

    Result r = check();
    assertThat(r.verdict()).isEqualTo(Verdict.NOT_LINEARIZABLE);
    assertThat(r.anomaly()).extracting(Operation::id).containsExactly(1, 2);
  }

  @Test
  void aLostAcknowledgedCreateIsNot() {
    op(1, 0, 1, create("a"), ok("10"));
    op(2, 50, 51, get(), notFound());

    assertThat(check().verdict()).isEqualTo(Verdict.NOT_LINEARIZABLE);
  }

  @Test
  void anUpdateAcceptedOnAStaleResourceVersionIsNot() {
    op(1, 0, 1, create("a"), ok("10"));
    op(2, 2, 3, get(), read("a", "10"));
    op(1, 10, 11, update("b", "10"), ok("11"));
    op(2, 20, 21, update("c", "10"), ok("12"));

    Result r = check();
    assertThat(r.verdict()).isEqualTo(Verdict.NOT_LINEARIZABLE);
    assertThat(r.anomaly()).extracting(Operation::id).containsExactly(2, 3);
  }

  @Test
  void aReadOfTheRightValueAtAnotherResourceVersionIsNot() {
    op(1, 0, 1, create("a"), ok("10"));
    op(1, 10, 11, update("b", "10"), ok("11"));
    op(2, 20, 21, get(), read("b", "12"));

    assertThat(check().verdict()).isEqualTo(Verdict.NOT_LINEARIZABLE);
  }

  // ------------------------------------------------ unknown outcomes

  @Test
  void aTimedOutWriteMayBeSeenLongAfter() {
    op(1, 0, 1, create("a"), ok("10"));
    op(1, 10, 11, update("b", "10"), unknown());
    op(2, 20, 21, get(), read("a", "10"));
    op(2, 100, 101, get(), read("b", "17"));
    op(2, 110, 111, update("c", "17"), ok("18"));
    op(3, 120, 121, delete(), unknown());
    op(3, 130, 131, get(), read("c", "18"));
    op(3, 140, 141, create("d"), new Output.AlreadyExists());
    op(3, 150, 151, get(), notFound());

    assertThat(check().verdict()).isEqualTo(Verdict.LINEARIZABLE);
  }

  @Test
  void aTimedOutWriteNeverSeenIsFine() {
    op(1, 0, 1, create("a"), ok("10"));
    op(1, 10, 11, update("b", "10"), unknown());
    op(2, 20, 21, get(), read("a", "10"));
    op(2, 30, 31, update("c", "10"), ok("12"));
    op(2, 40, 41, get(), read("c", "12"));

    assertThat(check().verdict()).isEqualTo(Verdict.LINEARIZABLE);
  }

  @Test
  void aTimedOutWriteSeenAndThenUnseenIsNot() {
    op(1, 0, 1, create("a"), ok("10"));
    op(1, 10, 11, update("b", "10"), unknown());
    op(2, 100, 101, get(), read("b", "17"));
    op(2, 110, 111, get(), read("a", "10"));

    Result r = check();
    assertThat(r.verdict()).isEqualTo(Verdict.NOT_LINEARIZABLE);
    // the unanswered write stays in the anomaly: it is what the first read saw
    assertThat(r.anomaly()).extracting(Operation::id).containsExactly(1, 2, 3);
  }

  @Test
  void aTimedOutWriteCannotClaimTheVersionOfAnAcknowledgedOne() {
    op(1, 0, 1, create("a"), ok("10"));
    op(1, 10, 11, update("b", "10"), unknown());
    op(2, 20, 21, update("c", "10"), ok("12"));
    op(2, 100, 101, get(), read("b", "12"));

    assertThat(check().verdict()).isEqualTo(Verdict.NOT_LINEARIZABLE);
  }

  // ------------------------------------------------ generated histories

  @Test
  void aLargeRandomHistoryFromARealStoreIsLinearizableAndCheckedQuickly() {
    for (long seed = 1; seed <= 5; seed++) {
      List<Operation> h = RandomHistories.generate(seed, 1000, 6, 4, 0.02);
      long start = System.nanoTime();
      Result r = LinearizabilityChecker.check(h, BUDGET);
      Duration took = Duration.ofNanos(System.nanoTime() - start);
      System.out.println("seed " + seed + ": " + r.describe(0) + " in " + took.toMillis() + " ms");
      assertThat(r.verdict()).as("seed %d", seed).isEqualTo(Verdict.LINEARIZABLE);
      assertThat(took).as("seed %d", seed).isLessThan(Duration.ofMillis(1000));
    }
  }

  @Test
  void theSameWithOneStaleReadIsNotAndTheAnomalyIsSmall() {
    for (long seed = 1; seed <= 5; seed++) {
      List<Operation> good = RandomHistories.generate(seed, 1000, 6, 4, 0.02);
      List<Operation> h = RandomHistories.withStaleRead(good);
      assertThat(h).isNotNull();
      Operation corrupted = h.stream().filter(op -> !good.contains(op)).findFirst().orElseThrow();
      Result r = LinearizabilityChecker.check(h, BUDGET);
      System.out.println("seed " + seed + ": " + r.describe(0));
      assertThat(r.verdict()).as("seed %d", seed).isEqualTo(Verdict.NOT_LINEARIZABLE);
      assertThat(r.key()).isEqualTo(corrupted.key());
      assertThat(r.anomaly()).as("seed %d", seed).contains(corrupted).hasSizeLessThan(20);
    }
  }

  @Test
  void aHighlyConcurrentRandomHistoryIsCheckedQuickly() {
    // 12 clients on one object, each operation overlapping about a dozen others: without the
    // cache of (placed set, state) pairs the search revisits the same situations exponentially often
    for (long seed = 1; seed <= 3; seed++) {
      List<Operation> h = RandomHistories.generate(seed, 1000, 12, 1, 0.02);
      long start = System.nanoTime();
      Result r = LinearizabilityChecker.check(h, BUDGET);
      Duration took = Duration.ofNanos(System.nanoTime() - start);
      System.out.println("concurrent seed " + seed + ": " + r.describe(0) + " in " + took.toMillis() + " ms");
      assertThat(r.verdict()).as("seed %d", seed).isEqualTo(Verdict.LINEARIZABLE);
      assertThat(took).as("seed %d", seed).isLessThan(Duration.ofSeconds(3)); // a few hundred ms here; over 10 s without the cache
    }
  }

  @Test
  void aHistoryTooHardForTheBudgetIsUnknownNotAHang() {
    // 40 overlapping creates and deletes with no answer, then a read of a value nobody wrote:
    // to refute it the search must try every subset of them
    for (int i = 0; i < 40; i++) {
      op(i, 0, 0, i % 2 == 0 ? create("v" + i) : delete(), unknown());
    }
    op(99, 10, 11, get(), read("nobody", "1"));

    long start = System.nanoTime();
    Result r = LinearizabilityChecker.check(history, Duration.ofMillis(200));
    assertThat(r.verdict()).isEqualTo(Verdict.UNKNOWN);
    assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(5));
  }
}
