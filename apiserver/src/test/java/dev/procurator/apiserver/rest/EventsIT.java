package dev.procurator.apiserver.rest;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.procurator.apiserver.testing.TestNames;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.procurator.api.runtime.EventRecorder;
import dev.procurator.api.v1alpha1.VM;
import dev.procurator.api.v1alpha1.VMSpec;
import dev.procurator.apiserver.testing.TestApiServer;
import io.fabric8.kubernetes.api.model.Event;
import io.fabric8.kubernetes.api.model.EventBuilder;
import io.fabric8.kubernetes.api.model.MicroTime;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.api.model.ObjectReferenceBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.Watcher;
import io.fabric8.kubernetes.client.WatcherException;
import java.net.http.HttpResponse;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * Events as kubectl and controllers use them: one object, written through either {@code
 * events.k8s.io/v1} or core {@code v1} and read through both; selected by the object they are
 * about; counted by the recorder; and gone an hour after they were last seen.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class EventsIT {
  static final ObjectMapper JSON = new ObjectMapper();
  private TestApiServer api;
  private KubernetesClient client;
  private String ns;

  @BeforeAll
  void startServer() throws Exception {
    api = TestApiServer.embedded();
    client = api.client();
  }

  @AfterAll
  void stopServer() {
    api.close();
  }

  @BeforeEach
  void freshNamespace() {
    ns = TestNames.unique("ev");
  }

  private io.fabric8.kubernetes.api.model.events.v1.Event newEvent(String name, String about, String note, Instant at) {
    io.fabric8.kubernetes.api.model.events.v1.Event e = new io.fabric8.kubernetes.api.model.events.v1.Event();
    e.setMetadata(new ObjectMetaBuilder().withName(name).withNamespace(ns).build());
    e.setRegarding(new ObjectReferenceBuilder().withApiVersion("procurator.dev/v1alpha1").withKind("VM").withNamespace(ns).withName(about)
        .withUid("uid-" + about).build());
    e.setReason("Started");
    e.setNote(note);
    e.setType("Normal");
    e.setAction("Start");
    e.setReportingController("procurator.dev/node-agent");
    e.setReportingInstance("node-a");
    e.setEventTime(new MicroTime(at.truncatedTo(ChronoUnit.MICROS).toString()));
    return e;
  }

  @Test
  void anEventWrittenAsEventsV1IsReadAsACoreEventOfItsObject() {
    Instant at = Instant.parse("2026-12-02T10:00:00.123456Z");
    client.events().v1().events().inNamespace(ns).resource(newEvent("web.1", "web", "started qemu", at)).create();
    client.events().v1().events().inNamespace(ns).resource(newEvent("db.1", "db", "started qemu", at)).create();

    List<Event> aboutWeb = client.v1().events().inNamespace(ns).withField("involvedObject.name", "web").list().getItems();
    assertThat(aboutWeb).singleElement().satisfies(e -> {
      assertThat(e.getApiVersion()).isEqualTo("v1");
      assertThat(e.getInvolvedObject().getKind()).isEqualTo("VM");
      assertThat(e.getMessage()).isEqualTo("started qemu");
      assertThat(e.getCount()).isEqualTo(1);
      assertThat(e.getFirstTimestamp()).isEqualTo("2026-12-02T10:00:00Z");
      assertThat(e.getLastTimestamp()).isEqualTo("2026-12-02T10:00:00Z");
      assertThat(e.getSource().getComponent()).isEqualTo("procurator.dev/node-agent");
      assertThat(e.getReportingComponent()).isEqualTo("procurator.dev/node-agent");
    });
  }

  @Test
  void aCoreEventIsReadThroughEventsV1WithItsFieldsRenamed() {
    Event core = new EventBuilder().withNewMetadata().withName("web.2").withNamespace(ns).endMetadata()
        .withInvolvedObject(new ObjectReferenceBuilder().withKind("VM").withNamespace(ns).withName("web").build())
        .withReason("Killing").withMessage("stopping the VM").withType("Normal").withCount(3)
        .withFirstTimestamp("2026-12-02T10:00:00Z").withLastTimestamp("2026-12-02T10:05:00Z")
        .withNewSource().withComponent("kubelet-like").endSource().build();
    client.v1().events().inNamespace(ns).resource(core).create();

    var e = client.events().v1().events().inNamespace(ns).withName("web.2").get();
    assertThat(e.getApiVersion()).isEqualTo("events.k8s.io/v1");
    assertThat(e.getRegarding().getName()).isEqualTo("web");
    assertThat(e.getNote()).isEqualTo("stopping the VM");
    assertThat(e.getDeprecatedCount()).isEqualTo(3);
    assertThat(e.getDeprecatedLastTimestamp()).isEqualTo("2026-12-02T10:05:00Z");
    assertThat(e.getReportingController()).isEqualTo("kubelet-like");
    assertThat(client.events().v1().events().inNamespace(ns).withField("regarding.name", "web").list().getItems()).hasSize(1);
  }

  @Test
  void aWatchOfEventsV1SeesCoreWritesConverted() throws Exception {
    List<io.fabric8.kubernetes.api.model.events.v1.Event> seen = new CopyOnWriteArrayList<>();
    try (var w = client.events().v1().events().inNamespace(ns).watch(new Watcher<>() {
      @Override
      public void eventReceived(Action action, io.fabric8.kubernetes.api.model.events.v1.Event e) {
        seen.add(e);
      }

      @Override
      public void onClose(WatcherException cause) {}
    })) {
      client.v1().events().inNamespace(ns).resource(new EventBuilder().withNewMetadata().withName("x.1").endMetadata()
          .withInvolvedObject(new ObjectReferenceBuilder().withKind("VM").withName("x").build()).withReason("Ready")
          .withMessage("up").withType("Normal").build()).create();
      await().atMost(Duration.ofSeconds(10)).until(() -> !seen.isEmpty());
    }
    assertThat(seen.getFirst().getNote()).isEqualTo("up");
    assertThat(seen.getFirst().getRegarding().getName()).isEqualTo("x");
  }

  @Test
  void theRecorderCountsARepeatInsteadOfWritingItAgain() throws Exception {
    VM vm = new VM();
    vm.setMetadata(new ObjectMetaBuilder().withName("flaky").withNamespace(ns).build());
    vm.setSpec(new VMSpec(1, "128Mi", null, new VMSpec.Boot(null, "k", null, null), null, null, null, null, null, null, null));
    VM created = client.resources(VM.class).inNamespace(ns).resource(vm).create();
    try (EventRecorder recorder = new EventRecorder(client, "procurator.dev/test", "here", Clock.systemUTC())) {
      for (int i = 0; i < 3; i++) {
        recorder.warning(created, "BackOff", "back-off restarting the failed VM");
      }
      recorder.normal(created, "Ready", "up");
      recorder.flush(Duration.ofSeconds(10));
    }
    List<Event> events = client.v1().events().inNamespace(ns).withField("involvedObject.name", "flaky").list().getItems();
    assertThat(events).extracting(Event::getReason).containsExactlyInAnyOrder("BackOff", "Ready");
    Event backOff = events.stream().filter(e -> e.getReason().equals("BackOff")).findFirst().orElseThrow();
    assertThat(backOff.getCount()).isEqualTo(3);
    assertThat(backOff.getType()).isEqualTo("Warning");
    assertThat(backOff.getInvolvedObject().getUid()).isEqualTo(created.getMetadata().getUid());
  }

  @Test
  void eventsLastSeenOverAnHourAgoExpire() {
    Instant now = Instant.now();
    client.events().v1().events().inNamespace(ns).resource(newEvent("old.1", "old", "long ago", now.minus(Duration.ofMinutes(61))))
        .create();
    client.events().v1().events().inNamespace(ns).resource(newEvent("new.1", "new", "just now", now)).create();

    assertThat(api.server().expireEvents()).isGreaterThanOrEqualTo(1);
    assertThat(client.v1().events().inNamespace(ns).list().getItems()).extracting(e -> e.getMetadata().getName())
        .containsExactly("new.1");
  }

  @Test
  void anEventMustSayWhatItIsAbout() throws Exception {
    HttpResponse<String> r = api.request("POST", "/api/v1/namespaces/" + ns + "/events", "application/json",
        "{\"apiVersion\":\"v1\",\"kind\":\"Event\",\"metadata\":{\"name\":\"e\"},\"reason\":\"X\",\"type\":\"Odd\"}");
    assertThat(r.statusCode()).isEqualTo(422);
    JsonNode causes = JSON.readTree(r.body()).path("details").path("causes");
    assertThat(causes.toString()).contains("involvedObject.name", "type");
  }

  @Test
  void kubectlStyleTablesShowTheObjectAndMessage() throws Exception {
    client.events().v1().events().inNamespace(ns).resource(newEvent("web.3", "web", "started qemu", Instant.now())).create();
    HttpResponse<String> r = api.http().send(java.net.http.HttpRequest.newBuilder(java.net.URI.create(api.url() + "/api/v1/namespaces/"
        + ns + "/events")).header("Authorization", "Bearer " + TestApiServer.TOKEN)
        .header("Accept", "application/json;as=Table;v=v1;g=meta.k8s.io").build(), HttpResponse.BodyHandlers.ofString());
    JsonNode table = JSON.readTree(r.body());
    assertThat(table.path("columnDefinitions").findValuesAsText("name")).contains("Last Seen", "Type", "Reason", "Object", "Message");
    assertThat(table.path("rows").get(0).path("cells").toString()).contains("vm/web", "started qemu", "Started");
  }
}
