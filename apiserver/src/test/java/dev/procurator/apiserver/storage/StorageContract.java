package dev.procurator.apiserver.storage;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.procurator.apiserver.testing.TestNames;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import java.util.Locale;

/** The behaviour every {@link Storage} must show; one subclass per implementation. */
abstract class StorageContract {
  protected Storage storage;
  private String root;

  protected abstract Storage newStorage() throws Exception;

  @BeforeEach
  void open() throws Exception {
    storage = newStorage();
    root = "/" + TestNames.unique("t") + "/";
  }

  @AfterEach
  void closeStorage() {
    storage.close();
  }

  private String key(String name) {
    return root + name;
  }

  private static byte[] v(String s) {
    return s.getBytes(UTF_8);
  }

  private static String s(KeyValue kv) {
    return new String(kv.value(), UTF_8);
  }

  @Test
  void createThenGetReturnsTheValueWithItsRevisions() {
    long rev = storage.create(key("a"), v("one"));

    KeyValue kv = storage.get(key("a")).orElseThrow();
    assertThat(s(kv)).isEqualTo("one");
    assertThat(kv.createRevision()).isEqualTo(rev);
    assertThat(kv.modRevision()).isEqualTo(rev);
    assertThat(storage.currentRevision()).isGreaterThanOrEqualTo(rev);
    assertThat(storage.get(key("missing"))).isEmpty();
  }

  @Test
  void countIsOfTheKeysUnderThePrefixNowDeletedOnesNot() {
    storage.create(key("c/a"), v("1"));
    long b = storage.create(key("c/b"), v("2"));
    storage.create(key("c/c"), v("3"));
    storage.create(key("d"), v("4"));
    storage.delete(key("c/b"), b);
    assertThat(storage.count(key("c/"))).isEqualTo(2);
    assertThat(storage.count(root)).isEqualTo(3);
    assertThat(storage.count(key("none/"))).isZero();
  }

  @Test
  void createOfAnExistingKeyFails() {
    storage.create(key("a"), v("one"));
    assertThatThrownBy(() -> storage.create(key("a"), v("two"))).isInstanceOf(StorageException.KeyExists.class);
    assertThat(s(storage.get(key("a")).orElseThrow())).isEqualTo("one");
  }

  @Test
  void everyWriteGetsALaterRevision() {
    long a = storage.create(key("a"), v("1"));
    long b = storage.update(key("a"), a, v("2"));
    long c = storage.delete(key("a"), b);
    assertThat(List.of(a, b, c)).isSorted().doesNotHaveDuplicates();
    assertThat(storage.currentRevision()).isGreaterThanOrEqualTo(c);
  }

  @Test
  void valuesOfAnyBytesComeBackAsTheyWent() {
    byte[] zeros = {0, 5, 0, 1};
    long a = storage.create(key("zeros"), zeros);
    storage.create(key("empty"), new byte[0]);
    assertThat(storage.get(key("zeros")).orElseThrow().value()).isEqualTo(zeros);
    assertThat(storage.get(key("empty")).orElseThrow().value()).isEmpty();
    storage.update(key("zeros"), a, new byte[] {0});
    assertThat(storage.get(key("zeros")).orElseThrow().value()).containsExactly(0);
  }

  @Test
  void writesInFlightTogetherEachGetTheirOwnRevisionAsAGetShowsIt() {
    int n = 200;
    List<CompletableFuture<Long>> creates = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      creates.add(storage.createAsync(key("c" + i), v("one " + i)));
    }
    List<Long> created = creates.stream().map(CompletableFuture::join).toList();
    assertThat(created).doesNotHaveDuplicates();
    List<CompletableFuture<Long>> updates = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      KeyValue kv = storage.get(key("c" + i)).orElseThrow();
      assertThat(kv.modRevision()).isEqualTo(created.get(i));
      assertThat(kv.createRevision()).isEqualTo(created.get(i));
      updates.add(storage.updateAsync(key("c" + i), kv.modRevision(), v("two " + i)));
    }
    List<Long> updated = updates.stream().map(CompletableFuture::join).toList();
    assertThat(updated).doesNotHaveDuplicates().doesNotContainAnyElementsOf(created);
    for (int i = 0; i < n; i++) {
      KeyValue kv = storage.get(key("c" + i)).orElseThrow();
      assertThat(kv.modRevision()).isEqualTo(updated.get(i)).isGreaterThan(created.get(i));
      assertThat(s(kv)).isEqualTo("two " + i);
    }
    assertThat(storage.list(root, null, 0, 0).items()).allSatisfy(kv ->
        assertThat(kv.modRevision()).isEqualTo(updated.get(Integer.parseInt(StorageContractTestSupport.name(kv).substring(1)))));
  }

  @Test
  void concurrentWritesToTheSameKeysSettleOneByOne() {
    long a = storage.create(key("shared"), v("0"));
    List<CompletableFuture<Long>> sameUpdate = new ArrayList<>();
    List<CompletableFuture<Long>> sameCreate = new ArrayList<>();
    List<CompletableFuture<Long>> fresh = new ArrayList<>();
    for (int i = 0; i < 20; i++) {
      sameUpdate.add(storage.updateAsync(key("shared"), a, v("update " + i)));
      sameCreate.add(storage.createAsync(key("contested"), v("create " + i)));
      fresh.add(storage.createAsync(key("fresh" + i), v("fresh " + i)));
    }
    assertThat(settled(sameUpdate, StorageException.Conflict.class)).isEqualTo(1);
    assertThat(settled(sameCreate, StorageException.KeyExists.class)).isEqualTo(1);
    assertThat(settled(fresh, StorageException.class)).isEqualTo(20);
    String winner = s(storage.get(key("shared")).orElseThrow());
    int w = Integer.parseInt(winner.substring("update ".length()));
    assertThat(storage.get(key("shared")).orElseThrow().modRevision()).isEqualTo(sameUpdate.get(w).join());
    String created = s(storage.get(key("contested")).orElseThrow());
    assertThat(sameCreate.get(Integer.parseInt(created.substring("create ".length())))).isCompleted().isNotCompletedExceptionally();
  }

  /** How many of {@code writes} succeeded; each of the others must have failed with {@code refusal}. */
  private static int settled(List<CompletableFuture<Long>> writes, Class<? extends StorageException> refusal) {
    int succeeded = 0;
    for (CompletableFuture<Long> f : writes) {
      try {
        f.join();
        succeeded++;
      } catch (CompletionException e) {
        assertThat(e.getCause()).isInstanceOf(refusal);
      }
    }
    return succeeded;
  }

  @ParameterizedTest(name = "follow={0}")
  @ValueSource(booleans = {false, true})
  void aWatchFromAnyWritesRevisionSeesExactlyTheWritesAfterIt(boolean follow) {
    storage.create(key("before"), v("x"));
    List<CompletableFuture<Long>> writes = new ArrayList<>();
    for (int i = 0; i < 100; i++) {
      writes.add(storage.createAsync(key("w" + i), v("w" + i)));
    }
    List<Long> revisions = writes.stream().map(CompletableFuture::join).sorted().toList();
    for (int from : List.of(0, 1, 17, 50, 98, 99)) {
      long after = revisions.get(from);
      List<WatchEvent> seen = new CopyOnWriteArrayList<>();
      AtomicReference<Throwable> error = new AtomicReference<>();
      try (Storage.Watch w = watch(follow, root, after, listener(seen, error))) {
        List<Long> expected = revisions.subList(from + 1, revisions.size());
        await().atMost(Duration.ofSeconds(10)).untilAsserted(() ->
            assertThat(seen).extracting(WatchEvent::revision).containsExactlyElementsOf(expected));
        assertThat(seen).allSatisfy(e -> assertThat(e).isInstanceOfSatisfying(WatchEvent.Put.class, p -> {
          assertThat(p.created()).isTrue();
          assertThat(p.previous()).isNull();
        }));
      }
      assertThat(error.get()).isNull();
    }
  }

  @Test
  void updateIsACompareAndSwapOnTheModRevision() {
    long created = storage.create(key("a"), v("one"));
    long updated = storage.update(key("a"), created, v("two"));

    assertThatThrownBy(() -> storage.update(key("a"), created, v("stale")))
        .isInstanceOfSatisfying(StorageException.Conflict.class, c -> {
          assertThat(c.current().modRevision()).isEqualTo(updated);
          assertThat(s(c.current())).isEqualTo("two");
        });
    KeyValue kv = storage.get(key("a")).orElseThrow();
    assertThat(s(kv)).isEqualTo("two");
    assertThat(kv.createRevision()).isEqualTo(created);
  }

  @Test
  void updateOfAMissingKeyIsNotFound() {
    assertThatThrownBy(() -> storage.update(key("nope"), 1, v("x"))).isInstanceOf(StorageException.NotFound.class);
  }

  @Test
  void deleteHonoursItsPrecondition() {
    long rev = storage.create(key("a"), v("one"));
    assertThatThrownBy(() -> storage.delete(key("a"), rev + 1000)).isInstanceOf(StorageException.Conflict.class);
    assertThat(storage.get(key("a"))).isPresent();

    storage.delete(key("a"), rev);
    assertThat(storage.get(key("a"))).isEmpty();
    assertThatThrownBy(() -> storage.delete(key("a"), 0)).isInstanceOf(StorageException.NotFound.class);
  }

  @Test
  void valuesOverTheLimitAreRefused() {
    assertThatThrownBy(() -> storage.create(key("big"), new byte[Storage.MAX_VALUE_BYTES + 1]))
        .isInstanceOf(StorageException.TooLarge.class);
  }

  @Test
  void listPagesThroughOneSnapshotWhileWritesGoOn() {
    for (int i = 0; i < 25; i++) {
      storage.create(key(String.format(Locale.ROOT, "k%02d", i)), v("v" + i));
    }
    storage.create(root.substring(0, root.length() - 1) + "x/other", v("outside the prefix"));

    ListPage first = storage.list(root, null, 0, 10);
    assertThat(first.items()).hasSize(10);
    assertThat(first.more()).isTrue();

    // writes after the first page must not show in later pages of the same list
    storage.update(key("k15"), storage.get(key("k15")).orElseThrow().modRevision(), v("changed"));
    storage.delete(key("k20"), 0);
    storage.create(key("k99"), v("new"));

    ListPage second = storage.list(root, lastKey(first) + "\0", first.revision(), 10);
    ListPage third = storage.list(root, lastKey(second) + "\0", first.revision(), 10);
    assertThat(third.more()).isFalse();
    List<String> all = new java.util.ArrayList<>();
    for (ListPage p : List.of(first, second, third)) {
      p.items().forEach(kv -> all.add(kv.key().substring(root.length()) + "=" + s(kv)));
    }
    assertThat(all).hasSize(25).contains("k15=v15", "k20=v20").doesNotContain("k99=new");

    ListPage now = storage.list(root, null, 0, 0);
    assertThat(now.items()).extracting(StorageContractTestSupport::name)
        .contains("k99").doesNotContain("k20").hasSize(25);
    assertThat(now.more()).isFalse();
  }

  private static String lastKey(ListPage p) {
    return p.items().get(p.items().size() - 1).key();
  }

  @ParameterizedTest(name = "follow={0}")
  @ValueSource(booleans = {false, true})
  void watchReplaysHistoryAfterARevisionThenFollowsLiveWrites(boolean follow) {
    long a = storage.create(key("a"), v("a1"));
    storage.create(key("b"), v("b1"));
    long from = storage.currentRevision();
    storage.update(key("a"), a, v("a2"));
    storage.delete(key("b"), 0);

    List<WatchEvent> seen = new CopyOnWriteArrayList<>();
    AtomicReference<Throwable> error = new AtomicReference<>();
    try (Storage.Watch w = watch(follow, root, from, listener(seen, error))) {
      await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> assertThat(seen).hasSize(2));
      storage.create(key("c"), v("c1"));
      storage.create("/" + TestNames.unique("elsewhere"), v("not watched"));
      await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> assertThat(seen).hasSize(3));
    }
    assertThat(error.get()).isNull();
    assertThat(seen.get(0)).isInstanceOfSatisfying(WatchEvent.Put.class, p -> {
      assertThat(s(p.current())).isEqualTo("a2");
      assertThat(s(p.previous())).isEqualTo("a1");
      assertThat(p.created()).isFalse();
    });
    assertThat(seen.get(1)).isInstanceOfSatisfying(WatchEvent.Delete.class, d -> {
      assertThat(d.key()).isEqualTo(key("b"));
      assertThat(s(d.previous())).isEqualTo("b1");
    });
    assertThat(seen.get(2)).isInstanceOfSatisfying(WatchEvent.Put.class, p -> assertThat(p.created()).isTrue());
    assertThat(seen).extracting(WatchEvent::revision).isSorted();
  }

  @ParameterizedTest(name = "follow={0}")
  @ValueSource(booleans = {false, true})
  void aWatchAskedForProgressSaysHowFarItIsCurrentAfterItsEvents(boolean follow) {
    long from = storage.currentRevision();
    List<String> seen = new CopyOnWriteArrayList<>();
    AtomicReference<Throwable> error = new AtomicReference<>();
    long[] mine = new long[1];
    WatchListener l = new WatchListener() {
      @Override
      public void onEvent(WatchEvent event) {
        seen.add("event " + event.revision());
      }

      @Override
      public void onProgress(long revision) {
        seen.add("progress " + revision);
      }

      @Override
      public void onError(Throwable e) {
        error.set(e);
      }
    };
    try (Storage.Watch w = watch(follow, root, from, l)) {
      mine[0] = storage.create(key("p"), v("watched"));
      // then only writes this watch does not see: its progress must still move past them
      long elsewhere = storage.create("/" + TestNames.unique("elsewhere"), v("not watched"));
      await().atMost(Duration.ofSeconds(10)).until(() -> seen.contains("event " + mine[0]));
      await().atMost(Duration.ofSeconds(10)).pollInterval(Duration.ofMillis(50)).untilAsserted(() -> {
        w.requestProgress();
        assertThat(seen).anySatisfy(e -> assertThat(e).startsWith("progress "));
        long progress = Long.parseLong(seen.getLast().substring("progress ".length()));
        assertThat(progress).isGreaterThanOrEqualTo(elsewhere);
      });
    }
    assertThat(error.get()).isNull();
    assertThat(seen.getFirst()).as("the event comes before any progress past it").isEqualTo("event " + mine[0]);
  }

  @ParameterizedTest(name = "follow={0}")
  @ValueSource(booleans = {false, true})
  void eventsOfKeysWrittenDuringTheWatchCarryTheirPreviousValues(boolean follow) {
    long from = storage.currentRevision();
    List<WatchEvent> seen = new CopyOnWriteArrayList<>();
    AtomicReference<Throwable> error = new AtomicReference<>();
    try (Storage.Watch w = watch(follow, root, from, listener(seen, error))) {
      long c1 = storage.create(key("c"), v("c1"));
      long c2 = storage.update(key("c"), c1, v("c2"));
      storage.delete(key("c"), c2);
      storage.create(key("c"), v("c3"));
      await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> assertThat(seen).hasSize(4));
    }
    assertThat(error.get()).isNull();
    assertThat(seen.get(0)).isInstanceOfSatisfying(WatchEvent.Put.class, p -> assertThat(p.previous()).isNull());
    assertThat(seen.get(1)).isInstanceOfSatisfying(WatchEvent.Put.class, p -> assertThat(s(p.previous())).isEqualTo("c1"));
    assertThat(seen.get(2)).isInstanceOfSatisfying(WatchEvent.Delete.class, d -> assertThat(s(d.previous())).isEqualTo("c2"));
    assertThat(seen.get(3)).isInstanceOfSatisfying(WatchEvent.Put.class, p -> {
      assertThat(p.created()).isTrue();
      assertThat(p.previous()).isNull();
    });
  }

  @ParameterizedTest(name = "follow={0}")
  @ValueSource(booleans = {false, true})
  void compactionForgetsHistoryButKeepsCurrentValues(boolean follow) {
    long a = storage.create(key("a"), v("a1"));
    long old = storage.currentRevision();
    storage.update(key("a"), a, v("a2"));
    storage.create(key("b"), v("b1"));
    long now = storage.currentRevision();
    storage.compact(now);

    assertThatThrownBy(() -> storage.list(root, null, old, 0)).isInstanceOf(StorageException.Compacted.class);
    assertThat(storage.list(root, null, 0, 0).items()).extracting(StorageContractTestSupport::value)
        .containsExactly("a2", "b1");

    List<WatchEvent> seen = new CopyOnWriteArrayList<>();
    AtomicReference<Throwable> error = new AtomicReference<>();
    try {
      Storage.Watch w = watch(follow, root, old, listener(seen, error));
      await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> assertThat(error.get()).isNotNull());
      w.close();
      assertThat(error.get()).isInstanceOf(StorageException.Compacted.class);
    } catch (StorageException.Compacted expected) {
      // thrown up front: equally correct
    }
    assertThat(seen).isEmpty();
  }

  /** Both ways to watch keep the same contract; {@code follow} is how the watch cache watches. */
  private Storage.Watch watch(boolean follow, String prefix, long after, WatchListener l) {
    return follow ? storage.follow(prefix, after, l) : storage.watch(prefix, after, l);
  }

  private static WatchListener listener(List<WatchEvent> seen, AtomicReference<Throwable> error) {
    return new WatchListener() {
      @Override
      public void onEvent(WatchEvent event) {
        seen.add(event);
      }

      @Override
      public void onError(Throwable e) {
        error.set(e);
      }
    };
  }
}
