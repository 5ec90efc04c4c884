package dev.procurator.api.runtime;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.fabric8.kubernetes.client.CustomResource;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.fabric8.kubernetes.model.annotation.Group;
import io.fabric8.kubernetes.model.annotation.Version;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import org.junit.jupiter.api.Test;

/** One pass of a loop, against an API and a cache held in maps (the cache lags when a test says so). */
class DispatcherTest {
  @Group("test.procurator.dev")
  @Version("v1")
  public static final class Thing extends CustomResource<String, String> implements io.fabric8.kubernetes.api.model.Namespaced {}

  static final ObjectKey KEY = ObjectKey.of("ns", "a");
  static final String FINALIZER = "test.procurator.dev/cleanup";

  /** An API server and its cache, as maps; every write bumps the resourceVersion and checks the one it was given. */
  static final class Store implements Primaries<Thing, String> {
    final Map<ObjectKey, Thing> api = new HashMap<>();
    final Map<ObjectKey, Thing> cache = new HashMap<>();
    long version = 1;
    int fetches;
    int statusWrites;
    int finalizerWrites;

    Thing create(String status, List<String> finalizers) {
      Thing t = new Thing();
      t.getMetadata().setNamespace(KEY.namespace());
      t.getMetadata().setName(KEY.name());
      t.getMetadata().setResourceVersion(Long.toString(version++));
      t.getMetadata().setFinalizers(new ArrayList<>(finalizers));
      t.setStatus(status);
      api.put(KEY, t);
      cache.put(KEY, copy(t));
      return t;
    }

    /** The cache catches up with the API. */
    void sync() {
      cache.clear();
      api.forEach((k, v) -> cache.put(k, copy(v)));
    }

    @Override
    public Thing cached(ObjectKey key) {
      return cache.get(key);
    }

    @Override
    public Thing fetch(ObjectKey key) {
      fetches++;
      Thing t = api.get(key);
      return t == null ? null : copy(t);
    }

    @Override
    public Thing copy(Thing o) {
      Thing t = new Thing();
      t.getMetadata().setNamespace(o.getMetadata().getNamespace());
      t.getMetadata().setName(o.getMetadata().getName());
      t.getMetadata().setResourceVersion(o.getMetadata().getResourceVersion());
      t.getMetadata().setDeletionTimestamp(o.getMetadata().getDeletionTimestamp());
      t.getMetadata().setFinalizers(new ArrayList<>(o.getMetadata().getFinalizers()));
      t.setStatus(o.getStatus());
      return t;
    }

    @Override
    public String status(Thing o) {
      return o.getStatus();
    }

    private Thing update(Thing o, Function<Thing, Thing> change) {
      Thing current = api.get(ObjectKey.of(o));
      if (current == null) {
        throw new KubernetesClientException("not found", 404, null);
      }
      if (!current.getMetadata().getResourceVersion().equals(o.getMetadata().getResourceVersion())) {
        throw new KubernetesClientException("conflict", 409, null);
      }
      Thing next = change.apply(copy(current));
      next.getMetadata().setResourceVersion(Long.toString(version++));
      api.put(ObjectKey.of(o), next);
      return copy(next);
    }

    @Override
    public Thing writeStatus(Thing o, String status) {
      statusWrites++;
      return update(o, t -> {
        t.setStatus(status);
        return t;
      });
    }

    @Override
    public Thing writeFinalizers(Thing o, List<String> finalizers) {
      finalizerWrites++;
      return update(o, t -> {
        t.getMetadata().setFinalizers(new ArrayList<>(finalizers));
        return t;
      });
    }
  }

  /** A loop whose decision the test sets, recording what it was asked. */
  static final class Recording implements Loop<Thing, String, String> {
    Function<Thing, Decision<String, String>> decide = t -> Decision.none();
    final List<String> seen = new ArrayList<>();
    final List<String> acted = new ArrayList<>();
    final List<ObjectKey> forgotten = new ArrayList<>();
    RuntimeException failAction;

    @Override
    public Decision<String, String> decide(Thing t) {
      seen.add(t.getStatus() + "@" + t.getMetadata().getResourceVersion());
      return decide.apply(t);
    }

    @Override
    public Thing act(Thing t, String action) {
      if (failAction != null) {
        throw failAction;
      }
      acted.add(action + "@" + t.getMetadata().getResourceVersion());
      return t;
    }

    @Override
    public void forget(ObjectKey key) {
      forgotten.add(key);
    }
  }

  final Store store = new Store();
  final Recording loop = new Recording();
  final List<String> events = new ArrayList<>();
  final Dispatcher.Events sink = (regarding, e) -> events.add(e.reason() + ":" + regarding.getMetadata().getResourceVersion());

  Dispatcher<Thing, String, String> dispatcher(String finalizer) {
    return new Dispatcher<>(loop, store, finalizer, sink);
  }

  @Test
  void aDecidedStatusIsWrittenOnceAndOnlyWhenItChanged() throws Exception {
    store.create("old", List.of());
    loop.decide = t -> Decision.status("new");
    var d = dispatcher(null);
    d.reconcile(KEY);
    store.sync();
    d.reconcile(KEY);
    assertThat(store.statusWrites).isEqualTo(1);
    assertThat(store.api.get(KEY).getStatus()).isEqualTo("new");
  }

  @Test
  void aPassAfterItsOwnWriteReadsTheApiUntilTheCacheShowsTheWrite() throws Exception {
    store.create("old", List.of());
    loop.decide = t -> Decision.status("new");
    var d = dispatcher(null);
    d.reconcile(KEY);
    // the cache still shows "old": the next pass must not decide from it
    d.reconcile(KEY);
    assertThat(loop.seen).containsExactly("old@1", "new@2");
    assertThat(store.fetches).isEqualTo(1);
    store.sync();
    d.reconcile(KEY);
    assertThat(store.fetches).as("once the cache shows the write, it is read again").isEqualTo(1);
    assertThat(d.waitingForCache(KEY)).isFalse();
  }

  @Test
  void theStatusIsWrittenBeforeTheActionsWhichSeeTheWrittenObjectAndEventsComeLast() throws Exception {
    store.create("old", List.of());
    loop.decide = t -> Decision.<String, String>status("new").act("boot").event(EventSpec.normal("Booted", "it booted"));
    dispatcher(null).reconcile(KEY);
    assertThat(loop.acted).containsExactly("boot@2");
    assertThat(events).containsExactly("Booted:2");
  }

  @Test
  void aDecisionMayAskForItsStatusAfterItsActions() throws Exception {
    store.create("old", List.of());
    loop.decide = t -> Decision.<String, String>status("moved").act("unbind").statusAfterActions();
    dispatcher(null).reconcile(KEY);
    assertThat(loop.acted).containsExactly("unbind@1");
    assertThat(store.api.get(KEY).getStatus()).isEqualTo("moved");
  }

  @Test
  void aFailedActionRecordsNoEventAndTheNextPassReadsTheApi() throws Exception {
    store.create("old", List.of());
    loop.decide = t -> Decision.<String, String>none().act("boot").event(EventSpec.normal("Booted", "it booted"));
    loop.failAction = new IllegalStateException("no disk");
    var d = dispatcher(null);
    assertThatThrownBy(() -> d.reconcile(KEY)).hasMessage("no disk");
    assertThat(events).isEmpty();
    loop.failAction = null;
    d.reconcile(KEY);
    assertThat(store.fetches).as("an action that failed may have written: the API is asked").isEqualTo(1);
  }

  @Test
  void aStatusComputedFromAStaleObjectIsAConflictNotAnOverwrite() throws Exception {
    store.create("old", List.of());
    // someone else writes; the cache has not seen it
    store.writeStatus(store.fetch(KEY), "theirs");
    store.statusWrites = 0;
    loop.decide = t -> Decision.status("mine");
    assertThatThrownBy(() -> dispatcher(null).reconcile(KEY)).isInstanceOfSatisfying(KubernetesClientException.class,
        e -> assertThat(e.getCode()).isEqualTo(409));
    assertThat(store.api.get(KEY).getStatus()).isEqualTo("theirs");
  }

  @Test
  void theFinalizerIsAddedToALiveObjectBeforeTheDecision() throws Exception {
    store.create("old", List.of());
    dispatcher(FINALIZER).reconcile(KEY);
    assertThat(store.api.get(KEY).getMetadata().getFinalizers()).containsExactly(FINALIZER);
    assertThat(loop.seen).containsExactly("old@2");
  }

  @Test
  void aDeletedObjectKeepsTheFinalizerUntilTheDecisionReleasesIt() throws Exception {
    Thing t = store.create("old", List.of(FINALIZER, "someone.else/keep"));
    t.getMetadata().setDeletionTimestamp(Instant.EPOCH.toString());
    store.sync();
    var d = dispatcher(FINALIZER);
    loop.decide = x -> Decision.<String, String>none().act("tear-down");
    d.reconcile(KEY);
    assertThat(store.api.get(KEY).getMetadata().getFinalizers()).contains(FINALIZER);
    loop.decide = x -> Decision.<String, String>none().release();
    d.reconcile(KEY);
    assertThat(store.api.get(KEY).getMetadata().getFinalizers()).containsExactly("someone.else/keep");
    assertThat(loop.acted).containsExactly("tear-down@1");
  }

  @Test
  void aDeletedObjectWithoutTheFinalizerIsNotDecidedOn() throws Exception {
    Thing t = store.create("old", List.of("someone.else/keep"));
    t.getMetadata().setDeletionTimestamp(Instant.EPOCH.toString());
    store.sync();
    dispatcher(FINALIZER).reconcile(KEY);
    assertThat(loop.seen).isEmpty();
    assertThat(store.finalizerWrites).isZero();
  }

  @Test
  void aGoneObjectIsForgotten() throws Exception {
    var r = dispatcher(null).reconcile(KEY);
    assertThat(r).isEqualTo(Result.done());
    assertThat(loop.forgotten).containsExactly(KEY);
  }

  @Test
  void theDecisionsRequeueIsTheResult() throws Exception {
    store.create("old", List.of());
    loop.decide = t -> Decision.<String, String>none().requeueAfter(Duration.ofSeconds(30)).requeueAfter(Duration.ofSeconds(5));
    assertThat(dispatcher(null).reconcile(KEY)).isEqualTo(Result.requeueAfter(Duration.ofSeconds(5)));
  }

}
