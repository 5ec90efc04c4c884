package dev.procurator.apiserver.rest;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.procurator.apiserver.testing.TestNames;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.procurator.api.v1alpha1.Hypervisor;
import dev.procurator.api.v1alpha1.VM;
import dev.procurator.api.v1alpha1.VMPhase;
import dev.procurator.api.v1alpha1.VMSpec;
import dev.procurator.api.v1alpha1.VMStatus;
import dev.procurator.apiserver.testing.TestApiServer;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.api.model.coordination.v1.Lease;
import io.fabric8.kubernetes.api.model.coordination.v1.LeaseBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.fabric8.kubernetes.client.Watcher;
import io.fabric8.kubernetes.client.WatcherException;
import io.fabric8.kubernetes.client.dsl.MixedOperation;
import io.fabric8.kubernetes.client.dsl.Resource;
import io.fabric8.kubernetes.client.informers.ResourceEventHandler;
import io.fabric8.kubernetes.client.informers.SharedIndexInformer;
import io.fabric8.kubernetes.api.model.KubernetesResourceList;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import java.util.Locale;
import java.nio.charset.StandardCharsets;

/** What a user of the Kubernetes API sees, through the fabric8 client and raw HTTP; one subclass per store. */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
abstract class ApiServerContract {
  static final ObjectMapper JSON = new ObjectMapper();
  protected TestApiServer api;
  private KubernetesClient client;
  private String ns;

  protected abstract TestApiServer start() throws Exception;

  @BeforeAll
  void startServer() throws Exception {
    api = start();
    client = api.client();
  }

  @AfterAll
  void stopServer() {
    api.close();
  }

  @BeforeEach
  void freshNamespace() {
    ns = TestNames.unique("t");
  }

  private MixedOperation<VM, KubernetesResourceList<VM>, Resource<VM>> vms() {
    return client.resources(VM.class);
  }

  static VM vm(String name) {
    VM vm = new VM();
    vm.setMetadata(new ObjectMetaBuilder().withName(name).withLabels(Map.of("app", "web")).build());
    vm.setSpec(new VMSpec(1, "128Mi", null, new VMSpec.Boot(null, "hello/vmlinux", "hello/initrd", "console=ttyS0"),
        null, null, null, null, null, null, null));
    return vm;
  }

  private static VMSpec withCpu(VMSpec s, int cpu) {
    return new VMSpec(cpu, s.memory(), s.hypervisor(), s.boot(), s.nodeName(), s.nodeSelector(), s.network(), s.secrets(),
        s.healthChecks(), s.restartPolicy(), s.bootTimeoutSeconds());
  }

  private static VMSpec withNode(VMSpec s, String node) {
    return s.withNodeName(node);
  }

  private JsonNode json(HttpResponse<String> r) throws Exception {
    return JSON.readTree(r.body());
  }

  // ---- the verbs through fabric8 ----

  @Test
  void createThenGetAppliesSchemaDefaultsAndServerFields() {
    VM created = vms().inNamespace(ns).resource(vm("web")).create();

    assertThat(created.getMetadata().getUid()).isNotBlank();
    assertThat(created.getMetadata().getResourceVersion()).isNotBlank();
    assertThat(created.getMetadata().getGeneration()).isEqualTo(1L);
    assertThat(created.getMetadata().getCreationTimestamp()).isNotBlank();
    VM got = vms().inNamespace(ns).withName("web").get();
    assertThat(got.getSpec().hypervisor()).isEqualTo(Hypervisor.QEMU);
    assertThat(got.getSpec().restartPolicy()).isNotNull();
    assertThat(got.getMetadata().getNamespace()).isEqualTo(ns);
  }

  @Test
  void createOfAnExistingNameIsAlreadyExists() {
    vms().inNamespace(ns).resource(vm("web")).create();
    assertThatThrownBy(() -> vms().inNamespace(ns).resource(vm("web")).create())
        .isInstanceOfSatisfying(KubernetesClientException.class, e -> {
          assertThat(e.getCode()).isEqualTo(409);
          assertThat(e.getStatus().getReason()).isEqualTo("AlreadyExists");
        });
  }

  @Test
  void updateWithAStaleResourceVersionIsAConflict() {
    VM created = vms().inNamespace(ns).resource(vm("web")).create();
    VM first = vms().inNamespace(ns).resource(created).get();
    first.setSpec(withCpu(first.getSpec(), 2));
    vms().inNamespace(ns).resource(first).update();

    created.setSpec(withCpu(created.getSpec(), 4));
    assertThatThrownBy(() -> vms().inNamespace(ns).resource(created).update())
        .isInstanceOfSatisfying(KubernetesClientException.class, e -> {
          assertThat(e.getCode()).isEqualTo(409);
          assertThat(e.getStatus().getReason()).isEqualTo("Conflict");
        });
    assertThat(vms().inNamespace(ns).withName("web").get().getSpec().cpu()).isEqualTo(2);
  }

  @Test
  void generateNameMakesUniqueNames() {
    VM template = vm(null);
    template.getMetadata().setGenerateName("worker-");
    VM a = vms().inNamespace(ns).resource(template).create();
    VM b = vms().inNamespace(ns).resource(template).create();
    assertThat(a.getMetadata().getName()).startsWith("worker-").hasSize("worker-".length() + 5);
    assertThat(b.getMetadata().getName()).isNotEqualTo(a.getMetadata().getName());
  }

  @Test
  void statusSubresourceAndGenerationFollowKubernetesRules() {
    VM created = vms().inNamespace(ns).resource(vm("web")).create();

    // a status write changes status only and leaves the generation alone
    created.setStatus(new VMStatus(VMPhase.RUNNING, "node-a", 1L, null, "booted", 0, null));
    created.setSpec(withCpu(created.getSpec(), 8));
    VM afterStatus = vms().inNamespace(ns).resource(created).updateStatus();
    assertThat(afterStatus.getStatus().phase()).isEqualTo(VMPhase.RUNNING);
    assertThat(afterStatus.getSpec().cpu()).isEqualTo(1);
    assertThat(afterStatus.getMetadata().getGeneration()).isEqualTo(1L);

    // a spec write keeps the status and bumps the generation
    afterStatus.setStatus(null);
    afterStatus.setSpec(withCpu(afterStatus.getSpec(), 2));
    VM afterSpec = vms().inNamespace(ns).resource(afterStatus).update();
    assertThat(afterSpec.getMetadata().getGeneration()).isEqualTo(2L);
    assertThat(afterSpec.getStatus().phase()).isEqualTo(VMPhase.RUNNING);

    // a label change is not a spec change
    afterSpec.getMetadata().getLabels().put("tier", "front");
    VM afterLabel = vms().inNamespace(ns).resource(afterSpec).update();
    assertThat(afterLabel.getMetadata().getGeneration()).isEqualTo(2L);
  }

  @Test
  void mergeAndJsonPatchesApply() throws Exception {
    vms().inNamespace(ns).resource(vm("web")).create();
    String path = "/apis/procurator.dev/v1alpha1/namespaces/" + ns + "/vms/web";

    HttpResponse<String> merge = api.request("PATCH", path, "application/merge-patch+json", "{\"spec\":{\"cpu\":3,\"nodeSelector\":{\"zone\":\"a\"}}}");
    assertThat(merge.statusCode()).isEqualTo(200);
    assertThat(json(merge).at("/spec/cpu").asInt()).isEqualTo(3);

    HttpResponse<String> patch = api.request("PATCH", path, "application/json-patch+json",
        "[{\"op\":\"replace\",\"path\":\"/spec/memory\",\"value\":\"1Gi\"},{\"op\":\"remove\",\"path\":\"/spec/nodeSelector\"}]");
    assertThat(patch.statusCode()).isEqualTo(200);
    VM got = vms().inNamespace(ns).withName("web").get();
    assertThat(got.getSpec().memory()).isEqualTo("1Gi");
    assertThat(got.getSpec().nodeSelector()).isNull();

    HttpResponse<String> bad = api.request("PATCH", path, "application/json-patch+json", "[{\"op\":\"remove\",\"path\":\"/spec/nothere\"}]");
    assertThat(bad.statusCode()).isEqualTo(400);
    HttpResponse<String> invalid = api.request("PATCH", path, "application/merge-patch+json", "{\"spec\":{\"cpu\":0}}");
    assertThat(invalid.statusCode()).isEqualTo(422);
    assertThat(json(invalid).at("/details/causes/0/field").asText()).isEqualTo("spec.cpu");
  }

  @Test
  void labelAndFieldSelectorsFilterLists() {
    for (String n : List.of("a", "b", "c")) {
      VM v = vm(n);
      v.getMetadata().setLabels(Map.of("app", n.equals("c") ? "db" : "web"));
      if (n.equals("b")) {
        v.setSpec(withNode(v.getSpec(), "node-1"));
      }
      vms().inNamespace(ns).resource(v).create();
    }
    assertThat(vms().inNamespace(ns).withLabel("app", "web").list().getItems()).extracting(v -> v.getMetadata().getName())
        .containsExactly("a", "b");
    assertThat(vms().inNamespace(ns).withLabelIn("app", "db", "cache").list().getItems()).hasSize(1);
    assertThat(vms().inNamespace(ns).withField("spec.nodeName", "node-1").list().getItems())
        .extracting(v -> v.getMetadata().getName()).containsExactly("b");
    assertThat(vms().inNamespace(ns).withoutField("spec.nodeName", "node-1").list().getItems()).hasSize(2);
    assertThatThrownBy(() -> vms().inNamespace(ns).withField("spec.memory", "x").list())
        .isInstanceOfSatisfying(KubernetesClientException.class, e -> {
          assertThat(e.getCode()).isEqualTo(400);
          assertThat(e.getStatus().getMessage()).contains("field label not supported: spec.memory");
        });
  }

  @Test
  void pagesComeFromOneSnapshot() throws Exception {
    for (int i = 0; i < 12; i++) {
      vms().inNamespace(ns).resource(vm(String.format(Locale.ROOT, "vm-%02d", i))).create();
    }
    String base = "/apis/procurator.dev/v1alpha1/namespaces/" + ns + "/vms";
    JsonNode first = json(api.request("GET", base + "?limit=5", null, null));
    assertThat(first.at("/items").size()).isEqualTo(5);
    String token = first.at("/metadata/continue").asText();
    assertThat(token).isNotEmpty();

    vms().inNamespace(ns).withName("vm-07").delete();
    vms().inNamespace(ns).resource(vm("vm-99")).create();

    List<String> names = new ArrayList<>();
    first.at("/items").forEach(i -> names.add(i.at("/metadata/name").asText()));
    while (!token.isEmpty()) {
      JsonNode page = json(api.request("GET", base + "?limit=5&continue=" + token, null, null));
      page.at("/items").forEach(i -> names.add(i.at("/metadata/name").asText()));
      assertThat(page.at("/metadata/resourceVersion").asText()).isEqualTo(first.at("/metadata/resourceVersion").asText());
      token = page.at("/metadata/continue").asText();
    }
    assertThat(names).hasSize(12).contains("vm-07").doesNotContain("vm-99");

    HttpResponse<String> bad = api.request("GET", base + "?limit=5&continue=garbage", null, null);
    assertThat(bad.statusCode()).isEqualTo(400);
  }

  @Test
  void watchDeliversAddedModifiedDeleted() throws Exception {
    List<String> events = new CopyOnWriteArrayList<>();
    try (var w = vms().inNamespace(ns).watch(new Watcher<>() {
      @Override
      public void eventReceived(Action action, VM vm) {
        events.add(action + " " + vm.getMetadata().getName() + " " + vm.getSpec().cpu());
      }

      @Override
      public void onClose(WatcherException cause) {
      }
    })) {
      VM created = vms().inNamespace(ns).resource(vm("web")).create();
      created.setSpec(withCpu(created.getSpec(), 2));
      vms().inNamespace(ns).resource(created).update();
      vms().inNamespace(ns).withName("web").delete();
      await().atMost(Duration.ofSeconds(10)).untilAsserted(() ->
          assertThat(events).containsExactly("ADDED web 1", "MODIFIED web 2", "DELETED web 2"));
    }
  }

  @Test
  void informerListsThenFollows() throws Exception {
    vms().inNamespace(ns).resource(vm("before")).create();
    List<String> seen = new CopyOnWriteArrayList<>();
    SharedIndexInformer<VM> informer = vms().inNamespace(ns).inform(new ResourceEventHandler<>() {
      @Override
      public void onAdd(VM obj) {
        seen.add("add " + obj.getMetadata().getName());
      }

      @Override
      public void onUpdate(VM oldObj, VM newObj) {
        seen.add("update " + newObj.getMetadata().getName());
      }

      @Override
      public void onDelete(VM obj, boolean deletedFinalStateUnknown) {
        seen.add("delete " + obj.getMetadata().getName());
      }
    });
    try {
      vms().inNamespace(ns).resource(vm("after")).create();
      vms().inNamespace(ns).withName("before").delete();
      await().atMost(Duration.ofSeconds(10)).untilAsserted(() ->
          assertThat(seen).contains("add before", "add after", "delete before"));
      assertThat(informer.getStore().list()).extracting(v -> v.getMetadata().getName()).containsExactly("after");
    } finally {
      informer.close();
    }
  }

  @Test
  void finalizersHoldADeleteUntilRemoved() {
    VM v = vm("held");
    v.getMetadata().setFinalizers(List.of("procurator.dev/vm-teardown"));
    vms().inNamespace(ns).resource(v).create();

    vms().inNamespace(ns).withName("held").delete();
    VM marked = vms().inNamespace(ns).withName("held").get();
    assertThat(marked).isNotNull();
    assertThat(marked.getMetadata().getDeletionTimestamp()).isNotBlank();

    marked.getMetadata().setFinalizers(List.of());
    vms().inNamespace(ns).resource(marked).update();
    assertThat(vms().inNamespace(ns).withName("held").get()).isNull();
  }

  @Test
  void leasesWorkAsCoordinationV1() {
    Lease lease = new LeaseBuilder().withNewMetadata().withName("scheduler").endMetadata()
        .withNewSpec().withHolderIdentity("replica-1").withLeaseDurationSeconds(15).endSpec().build();
    client.leases().inNamespace(ns).resource(lease).create();
    Lease got = client.leases().inNamespace(ns).withName("scheduler").get();
    assertThat(got.getSpec().getHolderIdentity()).isEqualTo("replica-1");
    assertThat(got.getSpec().getLeaseDurationSeconds()).isEqualTo(15);
  }

  // ---- watch semantics over raw HTTP ----

  @Test
  void watchFromACompactedRevisionIsGone() throws Exception {
    VM created = vms().inNamespace(ns).resource(vm("old")).create();
    long old = Long.parseLong(created.getMetadata().getResourceVersion());
    for (int i = 0; i < 3; i++) {
      created = vms().inNamespace(ns).resource(created).edit(v -> {
        v.setSpec(withCpu(v.getSpec(), v.getSpec().cpu() + 1));
        return v;
      });
    }
    api.server().compact(api.server().storage().currentRevision());

    HttpResponse<String> r = api.request("GET", "/apis/procurator.dev/v1alpha1/namespaces/" + ns + "/vms?watch=1&resourceVersion="
        + (old - 1) + "&timeoutSeconds=2", null, null);
    if (r.statusCode() == 200) {
      // served as a stream: the first frame must be the 410
      JsonNode frame = JSON.readTree(r.body().lines().findFirst().orElseThrow());
      assertThat(frame.path("type").asText()).isEqualTo("ERROR");
      assertThat(frame.at("/object/code").asInt()).isEqualTo(410);
    } else {
      assertThat(r.statusCode()).isEqualTo(410);
      assertThat(json(r).path("reason").asText()).isEqualTo("Expired");
    }
  }

  @Test
  void watchWithoutAResourceVersionStartsWithTheCurrentObjectsAndBookmarks() throws Exception {
    vms().inNamespace(ns).resource(vm("existing")).create();
    HttpResponse<String> r = api.request("GET", "/apis/procurator.dev/v1alpha1/namespaces/" + ns
        + "/vms?watch=true&allowWatchBookmarks=true&timeoutSeconds=2", null, null);
    assertThat(r.statusCode()).isEqualTo(200);
    List<String> lines = r.body().lines().toList();
    assertThat(JSON.readTree(lines.get(0)).path("type").asText()).isEqualTo("ADDED");
    assertThat(JSON.readTree(lines.get(0)).at("/object/metadata/name").asText()).isEqualTo("existing");
    long added = Long.parseLong(JSON.readTree(lines.get(0)).at("/object/metadata/resourceVersion").asText());
    // the servers under this contract send a bookmark every BOOKMARK_INTERVAL: one at least comes within the 2 s
    List<JsonNode> bookmarks = new java.util.ArrayList<>();
    for (String line : lines) {
      JsonNode frame = JSON.readTree(line);
      if (frame.path("type").asText().equals("BOOKMARK")) {
        bookmarks.add(frame);
      }
    }
    assertThat(bookmarks).as(r.body()).isNotEmpty().allSatisfy(b -> {
      assertThat(b.at("/object/kind").asText()).isEqualTo("VM");
      assertThat(b.at("/object/apiVersion").asText()).isEqualTo("procurator.dev/v1alpha1");
      assertThat(Long.parseLong(b.at("/object/metadata/resourceVersion").asText())).isGreaterThanOrEqualTo(added);
      assertThat(b.at("/object/spec").isMissingNode()).as("a bookmark carries no object").isTrue();
    });
    // and a watch that did not ask for them gets none
    HttpResponse<String> plain = api.request("GET", "/apis/procurator.dev/v1alpha1/namespaces/" + ns + "/vms?watch=true&timeoutSeconds=2", null, null);
    assertThat(plain.body()).doesNotContain("BOOKMARK");
  }

  /** How often the servers this contract runs against send bookmarks: well inside a 2 s watch. */
  public static final java.time.Duration BOOKMARK_INTERVAL = java.time.Duration.ofMillis(400);

  @Test
  void deleteCollectionDeletesWhatItsSelectorsMatchAndNothingElse() throws Exception {
    for (String n : List.of("a1", "a2", "b1")) {
      VM v = vm(n);
      v.getMetadata().setLabels(Map.of("app", n.substring(0, 1)));
      vms().inNamespace(ns).resource(v).create();
    }
    String other = TestNames.unique("t");
    vms().inNamespace(other).resource(vm("a9")).create(); // another namespace: out of the request's reach
    HttpResponse<String> r = api.request("DELETE", "/apis/procurator.dev/v1alpha1/namespaces/" + ns + "/vms?labelSelector=app%3Da", null, null);
    assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
    JsonNode deleted = json(r);
    assertThat(deleted.path("kind").asText()).isEqualTo("VMList");
    List<String> names = new java.util.ArrayList<>();
    deleted.path("items").forEach(i -> names.add(i.at("/metadata/name").asText()));
    assertThat(names).containsExactlyInAnyOrder("a1", "a2");
    assertThat(vms().inNamespace(ns).list().getItems()).extracting(v -> v.getMetadata().getName()).containsExactly("b1");
    assertThat(vms().inNamespace(other).withName("a9").get()).isNotNull();

    // a dry run deletes nothing; and a field selector works as a label selector does
    HttpResponse<String> dry = api.request("DELETE", "/apis/procurator.dev/v1alpha1/namespaces/" + ns + "/vms?dryRun=All", null, null);
    assertThat(dry.statusCode()).as(dry.body()).isEqualTo(200);
    assertThat(vms().inNamespace(ns).list().getItems()).hasSize(1);
    HttpResponse<String> byName = api.request("DELETE", "/apis/procurator.dev/v1alpha1/namespaces/" + ns
        + "/vms?fieldSelector=metadata.name%3Db1", null, null);
    assertThat(byName.statusCode()).as(byName.body()).isEqualTo(200);
    assertThat(vms().inNamespace(ns).list().getItems()).isEmpty();
  }

  // ---- bad input ----

  @Test
  void malformedJsonIs400WithItsPosition() throws Exception {
    HttpResponse<String> r = api.request("POST", "/apis/procurator.dev/v1alpha1/namespaces/" + ns + "/vms",
        "application/json", "{\"apiVersion\":\"procurator.dev/v1alpha1\",\n\"kind\": \"VM\",\n\"metadata\": {\"name\": \"x\"\n");
    assertThat(r.statusCode()).isEqualTo(400);
    JsonNode status = json(r);
    assertThat(status.path("kind").asText()).isEqualTo("Status");
    assertThat(status.path("message").asText()).contains("line");
  }

  @Test
  void schemaViolationsAre422NamingEveryField() throws Exception {
    String body = """
        {"apiVersion":"procurator.dev/v1alpha1","kind":"VM","metadata":{"name":"bad"},
         "spec":{"cpu":100,"memory":"lots","hypervisor":"xen","boot":{"kernel":"k"},"restartPolicy":"Sometimes"}}""";
    HttpResponse<String> r = api.request("POST", "/apis/procurator.dev/v1alpha1/namespaces/" + ns + "/vms", "application/json", body);
    assertThat(r.statusCode()).isEqualTo(422);
    JsonNode status = json(r);
    assertThat(status.path("reason").asText()).isEqualTo("Invalid");
    List<String> fields = new ArrayList<>();
    status.at("/details/causes").forEach(c -> fields.add(c.path("field").asText()));
    assertThat(fields).containsExactlyInAnyOrder("spec.cpu", "spec.memory", "spec.hypervisor", "spec.restartPolicy");
    assertThat(vms().inNamespace(ns).withName("bad").get()).isNull();
  }

  @Test
  void missingRequiredFieldsAndBadNamesAre422() throws Exception {
    String body = """
        {"apiVersion":"procurator.dev/v1alpha1","kind":"VM","metadata":{"name":"Not_DNS"},"spec":{"cpu":1}}""";
    HttpResponse<String> r = api.request("POST", "/apis/procurator.dev/v1alpha1/namespaces/" + ns + "/vms", "application/json", body);
    assertThat(r.statusCode()).isEqualTo(422);
    List<String> fields = new ArrayList<>();
    json(r).at("/details/causes").forEach(c -> fields.add(c.path("field").asText() + " " + c.path("reason").asText()));
    assertThat(fields).contains("metadata.name FieldValueInvalid", "spec.memory FieldValueRequired", "spec.boot FieldValueRequired");
  }

  @Test
  void unknownFieldsAreRejectedUnderStrictAndDroppedWithAWarningOtherwise() throws Exception {
    String body = """
        {"apiVersion":"procurator.dev/v1alpha1","kind":"VM","metadata":{"name":"extra"},
         "spec":{"cpu":1,"memory":"1Gi","boot":{"kernel":"k"},"colour":"blue"}}""";
    String path = "/apis/procurator.dev/v1alpha1/namespaces/" + ns + "/vms";
    HttpResponse<String> strict = api.request("POST", path + "?fieldValidation=Strict", "application/json", body);
    assertThat(strict.statusCode()).isEqualTo(400);
    assertThat(json(strict).path("message").asText()).contains("unknown field \"spec.colour\"");

    HttpResponse<String> warn = api.request("POST", path, "application/json", body);
    assertThat(warn.statusCode()).isEqualTo(201);
    assertThat(warn.headers().allValues("Warning")).anySatisfy(w -> assertThat(w).contains("spec.colour"));
    assertThat(json(warn).at("/spec/colour").isMissingNode()).isTrue();
  }

  @Test
  void unknownKindsAndGroupsAre404() throws Exception {
    assertThat(api.request("GET", "/apis/procurator.dev/v1alpha1/namespaces/default/widgets", null, null).statusCode()).isEqualTo(404);
    assertThat(api.request("GET", "/apis/nothere.io/v1/foos", null, null).statusCode()).isEqualTo(404);
    HttpResponse<String> r = api.request("GET", "/apis/procurator.dev/v1alpha1/namespaces/default/vms/missing", null, null);
    assertThat(r.statusCode()).isEqualTo(404);
    assertThat(json(r).path("reason").asText()).isEqualTo("NotFound");
  }

  @Test
  void bodiesOver3MiBAre413() throws Exception {
    String big = "{\"metadata\":{\"name\":\"big\",\"annotations\":{\"a\":\"" + "x".repeat(3 * 1024 * 1024) + "\"}}}";
    HttpResponse<String> r = api.request("POST", "/apis/procurator.dev/v1alpha1/namespaces/" + ns + "/vms", "application/json", big);
    assertThat(r.statusCode()).isEqualTo(413);
    assertThat(json(r).path("kind").asText()).isEqualTo("Status");
  }

  @Test
  void requestsWithoutAValidTokenAre401() throws Exception {
    assertThat(api.request("GET", "/apis/procurator.dev/v1alpha1/vms", null, null, null).statusCode()).isEqualTo(401);
    assertThat(api.request("GET", "/apis/procurator.dev/v1alpha1/vms", null, null, "wrong").statusCode()).isEqualTo(401);
    assertThat(api.request("GET", "/apis", null, null, "wrong").statusCode()).isEqualTo(401);
  }

  @Test
  void namespaceMismatchAndWrongKindAre400() throws Exception {
    String path = "/apis/procurator.dev/v1alpha1/namespaces/" + ns + "/vms";
    HttpResponse<String> otherNs = api.request("POST", path, "application/json",
        "{\"apiVersion\":\"procurator.dev/v1alpha1\",\"kind\":\"VM\",\"metadata\":{\"name\":\"x\",\"namespace\":\"elsewhere\"},"
            + "\"spec\":{\"cpu\":1,\"memory\":\"1Gi\",\"boot\":{\"kernel\":\"k\"}}}");
    assertThat(otherNs.statusCode()).isEqualTo(400);
    HttpResponse<String> wrongKind = api.request("POST", path, "application/json",
        "{\"apiVersion\":\"procurator.dev/v1alpha1\",\"kind\":\"Node\",\"metadata\":{\"name\":\"x\"}}");
    assertThat(wrongKind.statusCode()).isEqualTo(400);
    HttpResponse<String> notAnObject = api.request("POST", path, "application/json", "[1,2,3]");
    assertThat(notAnObject.statusCode()).isEqualTo(400);
  }

  @Test
  void hostileBodiesKubernetesRefusesAreRefusedAndNothingIsStored() throws Exception {
    String path = "/apis/procurator.dev/v1alpha1/namespaces/" + ns + "/vms";
    String spec = "\"spec\":{\"cpu\":1,\"memory\":\"128Mi\",\"boot\":{\"kernel\":\"k\"}}";
    String[] metadata = {
        "{\"name\":\"h1\",\"ownerReferences\":-1}",
        "{\"name\":\"h2\",\"ownerReferences\":true}",
        "{\"name\":\"h3\",\"ownerReferences\":\"owner\"}",
        "{\"name\":\"h4\",\"ownerReferences\":123456789012345678901234567890}",
        "{\"name\":\"h5\",\"resourceVersion\":{}}",
        "{\"name\":\"h6\",\"resourceVersion\":[]}",
        "{\"name\":\"h7\",\"namespace\":[\"" + ns + "\"]}",
        "{\"name\":\"h8\",\"ownerReferences\":[{\"apiVersion\":\"procurator.dev/v1alpha1\",\"kind\":\"Cluster\",\"name\":\"c\",\"uid\":5}]}",
        "{\"name\":\"h9\",\"ownerReferences\":[{\"apiVersion\":\"procurator.dev/v1alpha1\",\"kind\":\"Cluster\",\"name\":\"c\"}]}",
        "{\"name\":\"h10\",\"ownerReferences\":[{\"apiVersion\":\"v1\",\"kind\":\"A\",\"name\":\"a\",\"uid\":\"1\",\"controller\":true},"
            + "{\"apiVersion\":\"v1\",\"kind\":\"B\",\"name\":\"b\",\"uid\":\"2\",\"controller\":true}]}",
        "{\"name\":\"h11\",\"generation\":\"1\"}",
        "{\"name\":\"h12\",\"labels\":[\"a\"]}",
    };
    List<String> bodies = new ArrayList<>();
    for (String m : metadata) {
      bodies.add("{\"apiVersion\":\"procurator.dev/v1alpha1\",\"kind\":\"VM\",\"metadata\":" + m + "," + spec + "}");
    }
    bodies.add("{\"apiVersion\":\"procurator.dev/v1alpha1\",\"kind\":null,\"metadata\":{\"name\":\"t1\"}," + spec + "}");
    bodies.add("{\"apiVersion\":[],\"kind\":\"VM\",\"metadata\":{\"name\":\"t2\"}," + spec + "}");
    bodies.add("{\"apiVersion\":\"\",\"kind\":\"VM\",\"metadata\":{\"name\":\"t3\"}," + spec + "}");
    bodies.add("{\"apiVersion\":\"procurator.dev/v1\",\"kind\":\"VM\",\"metadata\":{\"name\":\"t4\"}," + spec + "}");
    bodies.add("{\"apiVersion\":\"procurator.dev/v1alpha1\",\"kind\":\"VM\",\"metadata\":{\"name\":\"t5\"},\"spec\":null}");
    bodies.add("{\"apiVersion\":\"procurator.dev/v1alpha1\",\"kind\":\"VM\",\"metadata\":{\"name\":\"t6\"}}");
    for (String body : bodies) {
      HttpResponse<String> r = api.request("POST", path, "application/json", body);
      assertThat(r.statusCode()).as(body + " → " + r.body()).isIn(400, 422);
      JsonNode status = json(r);
      assertThat(status.path("kind").asText()).as(body).isEqualTo("Status");
      assertThat(status.path("message").asText()).as(body).isNotBlank().doesNotContain("Exception").doesNotContain("Source:");
    }
    assertThat(vms().inNamespace(ns).list().getItems()).as("nothing stored").isEmpty();
    // the same fields are refused on an update too
    vms().inNamespace(ns).resource(vm("target")).create();
    HttpResponse<String> update = api.request("PUT", path + "/target", "application/json",
        "{\"apiVersion\":\"procurator.dev/v1alpha1\",\"kind\":\"VM\",\"metadata\":{\"name\":\"target\",\"ownerReferences\":true}," + spec + "}");
    assertThat(update.statusCode()).isEqualTo(400);
    assertThat(json(update).path("message").asText()).contains("metadata.ownerReferences");
  }

  @Test
  void badClusterSpecsAre422NamingTheField() throws Exception {
    String path = "/apis/procurator.dev/v1alpha1/namespaces/" + ns + "/clusters";
    String vm = "{\"cpu\":1,\"memory\":\"128Mi\",\"boot\":{\"kernel\":\"k\"}}";
    Map<String, String> cases = Map.of(
        "spec.strategy.maxSurge", "{\"templates\":[{\"name\":\"web\",\"spec\":" + vm + "}],\"strategy\":{\"maxSurge\":-1}}",
        "spec.strategy.maxUnavailable", "{\"templates\":[{\"name\":\"web\",\"spec\":" + vm + "}],\"strategy\":{\"maxUnavailable\":\"half\"}}",
        "spec.strategy.steps", "{\"templates\":[{\"name\":\"web\",\"spec\":" + vm + "}],\"strategy\":{\"type\":\"RollingUpdate\","
            + "\"steps\":[{\"replicas\":1}]}}",
        "spec.strategy.steps[0]", "{\"templates\":[{\"name\":\"web\",\"spec\":" + vm + "}],\"strategy\":{\"type\":\"Canary\","
            + "\"steps\":[{\"replicas\":1,\"pause\":{}}]}}",
        "spec.templates[1].name", "{\"templates\":[{\"name\":\"web\",\"spec\":" + vm + "},{\"name\":\"web\",\"spec\":" + vm + "}]}",
        "spec.templates[0].replicas", "{\"templates\":[{\"name\":\"web\",\"replicas\":101,\"spec\":" + vm + "}]}",
        "spec.strategy.autoPromotion", "{\"templates\":[{\"name\":\"web\",\"spec\":" + vm + "}],\"strategy\":{\"autoPromotion\":false}}");
    for (Map.Entry<String, String> c : cases.entrySet()) {
      HttpResponse<String> r = api.request("POST", path, "application/json",
          "{\"apiVersion\":\"procurator.dev/v1alpha1\",\"kind\":\"Cluster\",\"metadata\":{\"name\":\"bad\"},\"spec\":" + c.getValue() + "}");
      assertThat(r.statusCode()).as(c.getKey() + ": " + r.body()).isEqualTo(422);
      assertThat(json(r).path("details").path("causes").findValuesAsText("field")).as(r.body()).contains(c.getKey());
    }
  }

  @Test
  void noInputYieldsAServerErrorOrAStackTrace() throws Exception {
    vms().inNamespace(ns).resource(vm("target")).create();
    String base = "/apis/procurator.dev/v1alpha1/namespaces/" + ns + "/vms";
    String[][] cases = {
        {"POST", base, "application/json", ""},
        {"POST", base, "application/json", "null"},
        {"POST", base, "application/json", "\"just a string\""},
        {"POST", base, "application/json", "{\"metadata\":[]}"},
        {"POST", base, "application/json", "{\"metadata\":{\"name\":\"x\",\"labels\":{\"a\":{\"b\":1}}}}"},
        {"POST", base, "application/json", "{\"metadata\":{\"name\":\"x\"},\"spec\":\"not an object\"}"},
        {"POST", base, "application/json", "{\"metadata\":{\"name\":\"x\"},\"spec\":{\"cpu\":1e400}}"},
        {"POST", base, "application/json", "{\"a\":1,\"a\":2}"},
        {"POST", base, "application/yaml", "metadata: {name: [unclosed"},
        {"POST", base, "text/html", "<html/>"},
        {"POST", base, "application/json", "{\"metadata\":{\"name\":\"" + "a".repeat(300) + "\"}}"},
        {"POST", base + "?dryRun=Maybe", "application/json", "{}"},
        {"POST", base + "?fieldValidation=Loose", "application/json", "{}"},
        {"PUT", base + "/target", "application/json", "{\"metadata\":{\"name\":\"other\"}}"},
        {"PUT", base + "/target", "application/json", "{\"metadata\":{\"name\":\"target\",\"resourceVersion\":\"abc\"}}"},
        {"PUT", base, "application/json", "{}"},
        {"PATCH", base + "/target", "application/merge-patch+json", "[1]"},
        {"PATCH", base + "/target", "application/json-patch+json", "{}"},
        {"PATCH", base + "/target", "application/json-patch+json", "[{\"op\":\"explode\"}]"},
        {"PATCH", base + "/target", "application/json-patch+json", "[{\"op\":\"replace\",\"path\":\"/metadata/name\",\"value\":\"x\"}]"},
        {"PATCH", base + "/target", "application/strategic-merge-patch+json", "{}"},
        {"PATCH", base + "/target", "application/apply-patch+yaml", "{}"},
        {"PATCH", base + "/target/status", "application/merge-patch+json", "{\"status\":{\"phase\":\"Exploded\"}}"},
        {"DELETE", base + "/target", "application/json", "{\"preconditions\":{\"uid\":\"nope\"}}"},
        {"DELETE", base + "/target", "application/json", "not json"},
        {"GET", base + "?limit=99999999999", null, null},
        {"GET", base + "?limit=ten", null, null},
        {"GET", base + "?labelSelector=a%20in%20", null, null},
        {"GET", base + "?fieldSelector=nonsense", null, null},
        {"GET", base + "?watch=1&resourceVersion=abc", null, null},
        {"GET", base + "?watch=1&timeoutSeconds=-5", null, null},
        {"GET", base + "/target/logs", null, null},
        {"GET", "/apis/procurator.dev/v1alpha1/namespaces/Bad_NS/vms", null, null},
        {"GET", "/apis/procurator.dev/v1alpha1/vms/x", null, null},
        {"GET", "/apis/procurator.dev/v1alpha1/namespaces/x/nodes", null, null},
        {"GET", "/apis/procurator.dev/v9/vms", null, null},
        {"GET", "/apis/procurator.dev/v1alpha1/namespaces/x/vms/a/b/c/d", null, null},
        {"OPTIONS", base, null, null},
    };
    for (String[] c : cases) {
      HttpResponse<String> r = api.request(c[0], c[1], c[2], c[3]);
      String what = String.join(" ", c[0], c[1], String.valueOf(c[2]), String.valueOf(c[3]));
      assertThat(r.statusCode()).as(what).isBetween(400, 499);
      JsonNode status = json(r);
      assertThat(status.path("kind").asText()).as(what).isEqualTo("Status");
      assertThat(status.path("message").asText()).as(what).isNotBlank().doesNotContain("Exception").doesNotContain("\tat ");
    }
  }

  @Test
  void tableOutputUsesThePrinterColumns() throws Exception {
    vms().inNamespace(ns).resource(vm("web")).create();
    HttpResponse<String> r = api.http().send(java.net.http.HttpRequest.newBuilder(
            java.net.URI.create(api.url() + "/apis/procurator.dev/v1alpha1/namespaces/" + ns + "/vms"))
        .header("Authorization", "Bearer " + TestApiServer.TOKEN)
        .header("Accept", "application/json;as=Table;v=v1;g=meta.k8s.io,application/json").build(),
        HttpResponse.BodyHandlers.ofString());
    JsonNode table = json(r);
    assertThat(table.path("kind").asText()).isEqualTo("Table");
    List<String> columns = new ArrayList<>();
    table.path("columnDefinitions").forEach(c -> columns.add(c.path("name").asText()));
    assertThat(columns).startsWith("Name").contains("Phase", "Node", "CPU", "Memory").endsWith("Age");
    JsonNode cells = table.at("/rows/0/cells");
    assertThat(cells.get(0).asText()).isEqualTo("web");
    assertThat(cells.get(columns.indexOf("Memory")).asText()).isEqualTo("128Mi");
    assertThat(cells.get(columns.indexOf("CPU")).asInt()).isEqualTo(1);
  }

  @Test
  void discoveryDescribesTheGroup() throws Exception {
    JsonNode groups = json(api.request("GET", "/apis", null, null));
    assertThat(groups.path("groups").findValuesAsText("name")).contains("procurator.dev", "coordination.k8s.io");
    JsonNode resources = json(api.request("GET", "/apis/procurator.dev/v1alpha1", null, null));
    assertThat(resources.path("resources").findValuesAsText("name")).contains("vms", "vms/status", "nodes", "clusters",
        "builds", "secrets", "gitrepositories");
    assertThat(json(api.request("GET", "/openapi/v3", null, null)).at("/paths").has("apis/procurator.dev/v1alpha1")).isTrue();
  }

  @Test
  void aSecretsStringDataIsMergedIntoDataAndNeverStored() throws Exception {
    String path = "/apis/procurator.dev/v1alpha1/namespaces/" + ns + "/secrets";
    String a = java.util.Base64.getEncoder().encodeToString("one".getBytes(StandardCharsets.UTF_8));
    HttpResponse<String> created = api.request("POST", path, "application/json", String.format(Locale.ROOT, """
        {"apiVersion":"procurator.dev/v1alpha1","kind":"Secret","metadata":{"name":"creds"},
         "spec":{"data":{"a":"%s","b":"%s"},"stringData":{"b":"two","c":"three"}}}""", a, a));
    assertThat(created.statusCode()).as(created.body()).isEqualTo(201);
    JsonNode got = JSON.readTree(api.request("GET", path + "/creds", null, null).body());
    assertThat(got.path("spec").has("stringData")).isFalse();
    assertThat(got.path("spec").path("data").path("a").asText()).isEqualTo(a);
    assertThat(new String(java.util.Base64.getDecoder().decode(got.path("spec").path("data").path("b").asText()), java.nio.charset.StandardCharsets.UTF_8)).isEqualTo("two");
    assertThat(new String(java.util.Base64.getDecoder().decode(got.path("spec").path("data").path("c").asText()), java.nio.charset.StandardCharsets.UTF_8)).isEqualTo("three");

    HttpResponse<String> bad = api.request("POST", path, "application/json", """
        {"apiVersion":"procurator.dev/v1alpha1","kind":"Secret","metadata":{"name":"bad"},"spec":{"data":{"x":"not base64!"}}}""");
    assertThat(bad.statusCode()).isEqualTo(422);
    assertThat(bad.body()).contains("spec.data[x]").contains("base64");

    HttpResponse<String> badKey = api.request("POST", path, "application/json", """
        {"apiVersion":"procurator.dev/v1alpha1","kind":"Secret","metadata":{"name":"badkey"},"spec":{"stringData":{"../etc":"x"}}}""");
    assertThat(badKey.statusCode()).isEqualTo(422);
    assertThat(badKey.body()).contains("spec.stringData[../etc]");

    String huge = "x".repeat((1 << 20) + 1);
    HttpResponse<String> tooBig = api.request("POST", path, "application/json", String.format(Locale.ROOT, """
        {"apiVersion":"procurator.dev/v1alpha1","kind":"Secret","metadata":{"name":"big"},"spec":{"stringData":{"blob":"%s"}}}""", huge));
    assertThat(tooBig.statusCode()).isEqualTo(422);
    assertThat(tooBig.body()).contains("spec.data").contains("1048576");
  }

  /** The fields of a 422's causes, each as {@code field: message}. */
  private List<String> causes(HttpResponse<String> r) throws Exception {
    List<String> out = new ArrayList<>();
    json(r).at("/details/causes").forEach(c -> out.add(c.path("field").asText() + ": " + c.path("message").asText()));
    return out;
  }

  @Test
  void secretKeysThatCannotBeFileNamesAre422NamingTheKeyWhereItWasWritten() throws Exception {
    String path = "/apis/procurator.dev/v1alpha1/namespaces/" + ns + "/secrets";
    String v = java.util.Base64.getEncoder().encodeToString("x".getBytes(StandardCharsets.UTF_8));
    for (String key : List.of(".", "..", "..data")) {
      HttpResponse<String> inData = api.request("POST", path, "application/json", String.format(Locale.ROOT, """
          {"apiVersion":"procurator.dev/v1alpha1","kind":"Secret","metadata":{"name":"dots"},"spec":{"data":{"%s":"%s"}}}""", key, v));
      assertThat(inData.statusCode()).as(key).isEqualTo(422);
      assertThat(json(inData).path("reason").asText()).isEqualTo("Invalid");
      assertThat(causes(inData)).as(key).singleElement().asString().startsWith("spec.data[" + key + "]: Invalid value: \"" + key + "\": must not");

      HttpResponse<String> inStringData = api.request("POST", path, "application/json", String.format(Locale.ROOT, """
          {"apiVersion":"procurator.dev/v1alpha1","kind":"Secret","metadata":{"name":"dots"},"spec":{"stringData":{"ok":"1","%s":"x"}}}""", key));
      assertThat(inStringData.statusCode()).as(key).isEqualTo(422);
      assertThat(causes(inStringData)).as(key).singleElement().asString().startsWith("spec.stringData[" + key + "]: ");
    }
    HttpResponse<String> tooLong = api.request("POST", path, "application/json", String.format(Locale.ROOT, """
        {"apiVersion":"procurator.dev/v1alpha1","kind":"Secret","metadata":{"name":"long"},"spec":{"stringData":{"%s":"x"}}}""", "k".repeat(254)));
    assertThat(causes(tooLong)).singleElement().asString().contains("must be no more than 253 characters");
    // what Kubernetes allows stays allowed: dots inside a key, and a leading single dot
    HttpResponse<String> fine = api.request("POST", path, "application/json", """
        {"apiVersion":"procurator.dev/v1alpha1","kind":"Secret","metadata":{"name":"fine"},"spec":{"stringData":{".hidden":"1","tls.crt":"2","a..b":"3"}}}""");
    assertThat(fine.statusCode()).as(fine.body()).isEqualTo(201);
  }

  @Test
  void aMountPathThatCouldBreakTheKernelCommandLineIs422NamingTheField() throws Exception {
    String path = "/apis/procurator.dev/v1alpha1/namespaces/" + ns + "/vms";
    for (String mountPath : List.of("/run/secrets x", "/run/secrets\\nquiet", "/run/secrets;init=/bin/sh", "relative/path", "/", "/run/../etc",
        "/run/./s", "/run//s", "/run/s/", "/" + "a".repeat(255))) {
      String body = String.format(Locale.ROOT, """
          {"apiVersion":"procurator.dev/v1alpha1","kind":"VM","metadata":{"name":"mounts"},
           "spec":{"cpu":1,"memory":"128Mi","boot":{"kernel":"k"},"secrets":[{"name":"ok","mountPath":"/run/ok"},{"name":"db","mountPath":"%s"}]}}""",
          mountPath);
      HttpResponse<String> r = api.request("POST", path, "application/json", body);
      assertThat(r.statusCode()).as(mountPath + ": " + r.body()).isEqualTo(422);
      assertThat(causes(r)).as(mountPath).singleElement().asString().startsWith("spec.secrets[1].mountPath: ");
    }
    // a Cluster's templates are VMs to be: held to the same rule
    HttpResponse<String> cluster = api.request("POST", "/apis/procurator.dev/v1alpha1/namespaces/" + ns + "/clusters", "application/json", """
        {"apiVersion":"procurator.dev/v1alpha1","kind":"Cluster","metadata":{"name":"mounts"},"spec":{"templates":[{"name":"web","replicas":1,
         "spec":{"cpu":1,"memory":"128Mi","boot":{"kernel":"k"},"secrets":[{"name":"db","mountPath":"/run/../etc"}]}}]}}""");
    assertThat(cluster.statusCode()).as(cluster.body()).isEqualTo(422);
    assertThat(causes(cluster)).singleElement().asString().startsWith("spec.templates[0].spec.secrets[0].mountPath: ");

    HttpResponse<String> fine = api.request("POST", path, "application/json", """
        {"apiVersion":"procurator.dev/v1alpha1","kind":"VM","metadata":{"name":"mounts"},
         "spec":{"cpu":1,"memory":"128Mi","boot":{"kernel":"k"},"secrets":[{"name":"db","mountPath":"/run/secrets/db-1.d"}]}}""");
    assertThat(fine.statusCode()).as(fine.body()).isEqualTo(201);
  }
}
