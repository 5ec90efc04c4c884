package dev.procurator.pctl;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.procurator.apiserver.testing.TestNames;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;
import java.util.Locale;

/** pctl against a real 'pctl up', and kubectl against the same server, as a user would run them. */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class PctlIT {
  private static final Path EXAMPLES = Path.of("..", "examples");
  private PctlUp up;

  @BeforeAll
  void up() throws Exception {
    up = PctlUp.start();
  }

  @AfterAll
  void down() throws Exception {
    up.close();
  }


  record Run(int code, String out, String err) {}

  private Run pctl(String... args) {
    PctlRun r = PctlRun.run(up.kubeconfig(), args);
    return new Run(r.code(), r.out(), r.err());
  }

  private Run kubectl(String... args) throws Exception {
    String[] all = new String[args.length + 3];
    all[0] = "kubectl";
    all[1] = "--kubeconfig";
    all[2] = up.kubeconfig().toString();
    System.arraycopy(args, 0, all, 3, args.length);
    Process p = new ProcessBuilder(all).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    String err = new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
    return new Run(p.exitValue(), out, err);
  }

  @Test
  void applyIsIdempotentAndGetShowsPrinterColumns() {
    Run first = pctl("apply", "-n", "apply-test", "-f", EXAMPLES.toString());
    assertThat(first.code()).as(first.err()).isZero();
    assertThat(first.out()).contains("vm/web created", "cluster/shop created", "gitrepository/fleet created");

    Run again = pctl("apply", "-n", "apply-test", "-f", EXAMPLES.toString());
    assertThat(again.code()).isZero();
    assertThat(again.out()).contains("vm/web unchanged", "cluster/shop unchanged");

    Run get = pctl("get", "vms", "-n", "apply-test");
    assertThat(get.code()).isZero();
    assertThat(get.out().lines().findFirst().orElseThrow()).contains("NAME", "CPU", "MEMORY", "PHASE", "AGE");
    assertThat(get.out()).contains("web", "128Mi");

    Run yaml = pctl("get", "vm", "web", "-n", "apply-test", "-o", "yaml");
    assertThat(yaml.out()).startsWith("apiVersion: procurator.dev/v1alpha1").contains("kind: VM", "hypervisor: qemu");
  }

  @Test
  void applyChangesAndRemovesFieldsAndReadsStdin(@TempDir Path dir) throws Exception {
    Path file = dir.resolve("vm.yaml");
    Files.writeString(file, """
        apiVersion: procurator.dev/v1alpha1
        kind: VM
        metadata: {name: edit, labels: {a: "1", b: "2"}}
        spec: {cpu: 1, memory: 128Mi, boot: {kernel: k}, nodeSelector: {zone: x}}
        """);
    assertThat(pctl("apply", "-n", "edit-test", "-f", file.toString()).out()).contains("vm/edit created");
    Files.writeString(file, """
        apiVersion: procurator.dev/v1alpha1
        kind: VM
        metadata: {name: edit, labels: {a: "1"}}
        spec: {cpu: 2, memory: 128Mi, boot: {kernel: k}}
        """);
    assertThat(pctl("apply", "-n", "edit-test", "-f", file.toString()).out()).contains("vm/edit configured");
    JsonNode vm = new ObjectMapper().readTree(pctl("get", "vm", "edit", "-n", "edit-test", "-o", "json").out());
    assertThat(vm.at("/spec/cpu").asInt()).isEqualTo(2);
    assertThat(vm.at("/spec/nodeSelector").isMissingNode()).isTrue();
    assertThat(vm.at("/metadata/labels").has("b")).isFalse();
    assertThat(vm.at("/metadata/generation").asInt()).isEqualTo(2);
  }

  @Test
  void badInputGivesOneClearLineAndExitCodeOne(@TempDir Path dir) throws Exception {
    Path invalid = dir.resolve("invalid.yaml");
    Files.writeString(invalid, """
        apiVersion: procurator.dev/v1alpha1
        kind: VM
        metadata: {name: bad}
        spec: {cpu: 100, memory: lots, boot: {kernel: k}}
        """);
    Run r = pctl("apply", "-f", invalid.toString());
    assertThat(r.code()).isEqualTo(1);
    assertThat(r.err()).contains("Error from server (Invalid)", "spec.cpu", "spec.memory").doesNotContain("Exception");

    Path broken = dir.resolve("broken.yaml");
    Files.writeString(broken, "apiVersion: v1\nkind: VM\nmetadata: {name: x\n");
    Run b = pctl("apply", "-f", broken.toString());
    assertThat(b.code()).isEqualTo(1);
    assertThat(b.err()).contains("broken.yaml", "line");

    Path unknownKind = dir.resolve("widget.yaml");
    Files.writeString(unknownKind, "apiVersion: procurator.dev/v1alpha1\nkind: Widget\nmetadata: {name: w}\n");
    assertThat(pctl("apply", "-f", unknownKind.toString()).code()).isEqualTo(1);

    assertThat(pctl("get", "widgets").code()).isEqualTo(1);
    Run missing = pctl("get", "vm", "does-not-exist");
    assertThat(missing.code()).isEqualTo(1);
    assertThat(missing.err()).contains("NotFound");
    assertThat(pctl("get", "vms", "-o", "xml").code()).isEqualTo(1);
    assertThat(pctl("frobnicate").code()).isEqualTo(2);
  }

  @Test
  void deleteByNameAndFromFiles() {
    pctl("apply", "-n", "delete-test", "-f", EXAMPLES.resolve("vm-web.yaml").toString());
    Run d = pctl("delete", "vm", "web", "-n", "delete-test");
    assertThat(d.code()).isZero();
    assertThat(d.out()).contains("vm/web deleted");
    assertThat(pctl("delete", "vm", "web", "-n", "delete-test").code()).isEqualTo(1);
    assertThat(pctl("delete", "vm", "web", "-n", "delete-test", "--ignore-not-found").code()).isZero();

    pctl("apply", "-n", "delete-test", "-f", EXAMPLES.resolve("cluster-shop.yaml").toString());
    Run f = pctl("delete", "-n", "delete-test", "-f", EXAMPLES.resolve("cluster-shop.yaml").toString());
    assertThat(f.out()).contains("cluster/shop deleted");
  }

  @Test
  void describeShowsMetadataSpecAndStatus() throws Exception {
    pctl("apply", "-n", "describe-test", "-f", EXAMPLES.resolve("vm-web.yaml").toString());
    // a status as an agent writes it, through the status subresource
    String at = java.time.Instant.now().truncatedTo(java.time.temporal.ChronoUnit.SECONDS).toString();
    assertThat(up.request("PATCH", "/apis/procurator.dev/v1alpha1/namespaces/describe-test/vms/web/status", "application/merge-patch+json",
        "{\"status\":{\"phase\":\"Running\",\"restartCount\":2,\"conditions\":[{\"type\":\"Healthy\",\"status\":\"True\","
            + "\"reason\":\"ChecksPassing\",\"message\":\"all 1 health checks pass\",\"lastTransitionTime\":\"" + at + "\"}]}}")
        .statusCode()).isEqualTo(200);
    Run r = pctl("describe", "vm", "web", "-n", "describe-test");
    assertThat(r.code()).isZero();
    assertThat(r.out()).contains("Name:", "web", "Namespace:", "describe-test", "Spec:", "memory: 128Mi");
    assertThat(r.out()).contains("Status:", "phase: Running", "restartCount: 2", "Conditions:")
        .containsPattern("Healthy\\s+True\\s+" + java.util.regex.Pattern.quote(at) + "\\s+ChecksPassing\\s+all 1 health checks pass");
    assertThat(r.out().indexOf("Status:")).as("status after spec").isGreaterThan(r.out().indexOf("Spec:"));
  }

  @Test
  void describeAndKubectlShowTheEventsAboutAnObject() throws Exception {
    pctl("apply", "-n", "events-test", "-f", EXAMPLES.resolve("vm-web.yaml").toString());
    JsonNode web = new ObjectMapper().readTree(up.request("GET", "/apis/procurator.dev/v1alpha1/namespaces/events-test/vms/web", null).body());
    String uid = web.path("metadata").path("uid").asText();
    String now = java.time.Instant.now().truncatedTo(java.time.temporal.ChronoUnit.SECONDS).toString();
    String earlier = java.time.Instant.now().minusSeconds(300).truncatedTo(java.time.temporal.ChronoUnit.SECONDS).toString();
    for (String e : List.of(
        event("web.1", uid, "Normal", "Started", "started qemu (tcg), pid 42", 1, earlier, earlier),
        event("web.2", uid, "Warning", "BackOff", "back-off 4.0 s restarting the failed VM", 3, earlier, now),
        event("other.1", "someone-else", "Normal", "Started", "not about web", 1, now, now))) {
      assertThat(up.request("POST", "/api/v1/namespaces/events-test/events", e).statusCode()).isEqualTo(201);
    }

    Run r = pctl("describe", "vm", "web", "-n", "events-test");
    assertThat(r.code()).as(r.err()).isZero();
    assertThat(r.out()).contains("Events:", "Type", "Reason", "From", "Message", "started qemu (tcg), pid 42",
        "back-off 4.0 s restarting the failed VM", "(x3 over 5m", "procurator.dev/node-agent").doesNotContain("not about web");
    // oldest first, as kubectl prints them
    assertThat(r.out().indexOf("Started")).isLessThan(r.out().indexOf("BackOff"));

    Run get = kubectl("get", "events", "-n", "events-test");
    assertThat(get.code()).as(get.err()).isZero();
    assertThat(get.out()).contains("vm/web", "BackOff", "back-off 4.0 s restarting the failed VM");
    Run describe = kubectl("describe", "vm", "web", "-n", "events-test");
    assertThat(describe.code()).as(describe.err()).isZero();
    assertThat(describe.out()).contains("Events:", "BackOff", "back-off 4.0 s restarting the failed VM");
  }

  private static String event(String name, String uid, String type, String reason, String message, int count, String first, String last) {
    return String.format(Locale.ROOT, """
        {"apiVersion":"v1","kind":"Event","metadata":{"name":"%s"},
         "involvedObject":{"apiVersion":"procurator.dev/v1alpha1","kind":"VM","namespace":"events-test","name":"%s","uid":"%s"},
         "type":"%s","reason":"%s","message":"%s","count":%d,"firstTimestamp":"%s","lastTimestamp":"%s",
         "source":{"component":"procurator.dev/node-agent","host":"node-a"}}""", name, name.startsWith("other") ? "other" : "web", uid, type, reason, message, count, first, last);
  }

  /** A pctl process that keeps printing (get -w), and the lines it printed so far. */
  record Following(Process process, Thread reader, List<String> lines) implements AutoCloseable {
    @Override
    public void close() throws InterruptedException {
      process.destroyForcibly();
      process.waitFor(10, TimeUnit.SECONDS);
      reader.join(5000);
    }
  }

  private Following follow(String... args) throws Exception {
    List<String> cmd = new java.util.ArrayList<>(List.of(PctlUp.java(), "-jar", PctlUp.jar().toString(), "--kubeconfig",
        up.kubeconfig().toString()));
    cmd.addAll(List.of(args));
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    List<String> lines = new CopyOnWriteArrayList<>();
    Thread reader = Thread.ofVirtual().start(() -> {
      try (BufferedReader in = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
        String line;
        while ((line = in.readLine()) != null) {
          lines.add(line);
        }
      } catch (Exception ignored) {
        // the process was stopped
      }
    });
    return new Following(p, reader, lines);
  }

  @Test
  void getWatchPrintsEachChange() throws Exception {
    pctl("apply", "-n", "watch-test", "-f", EXAMPLES.resolve("vm-web.yaml").toString());
    try (Following f = follow("get", "vms", "-n", "watch-test", "-w")) {
      List<String> lines = f.lines();
      await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> assertThat(lines).anySatisfy(l -> assertThat(l).startsWith("web ")));
      assertThat(up.request("POST", "/apis/procurator.dev/v1alpha1/namespaces/watch-test/vms", """
          {"apiVersion":"procurator.dev/v1alpha1","kind":"VM","metadata":{"name":"second"},
           "spec":{"cpu":2,"memory":"256Mi","boot":{"kernel":"k"}}}""").statusCode()).isEqualTo(201);
      await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> assertThat(lines).anySatisfy(l -> assertThat(l).startsWith("second ")));
    }
  }

  @Test
  void getOneObjectWithWatchFollowsOnlyThatObject() throws Exception {
    pctl("apply", "-n", "watch-one", "-f", EXAMPLES.resolve("vm-web.yaml").toString());
    pctl("apply", "-n", "watch-one", "-f", EXAMPLES.resolve("vm-hello.yaml").toString());
    try (Following f = follow("get", "vm", "web", "-n", "watch-one", "-w", "-o", "jsonpath={.spec.cpu}{\"\\n\"}")) {
      List<String> lines = f.lines();
      await().atMost(Duration.ofSeconds(30)).until(() -> lines.contains("1"));
      assertThat(up.request("PATCH", "/apis/procurator.dev/v1alpha1/namespaces/watch-one/vms/hello", "application/merge-patch+json",
          "{\"spec\":{\"cpu\":3}}").statusCode()).isEqualTo(200);
      assertThat(up.request("PATCH", "/apis/procurator.dev/v1alpha1/namespaces/watch-one/vms/web", "application/merge-patch+json",
          "{\"spec\":{\"cpu\":2}}").statusCode()).isEqualTo(200);
      await().atMost(Duration.ofSeconds(30)).until(() -> lines.contains("2"));
      assertThat(lines).as("hello's change is not web's").doesNotContain("3");
    }
  }

  @Test
  void upStopsCleanlyOnSigtermAndKeepsItsTokenAcrossRestarts() throws Exception {
    try (PctlUp other = PctlUp.start()) {
      String token = other.token();
      other.process().destroy();
      assertThat(other.process().waitFor(30, TimeUnit.SECONDS)).as("pctl up exits after SIGTERM").isTrue();
      assertThat(Files.readString(other.dataDir.resolve("up.log"))).contains("Procurator is up", "Procurator is stopping");

      other.launch();
      assertThat(other.token()).isEqualTo(token);
      assertThat(other.request("GET", "/apis/procurator.dev/v1alpha1/vms", null).statusCode()).isEqualTo(200);
    }
  }

  @Test
  void upAlsoRunsTheBinaryCacheThatNixPushesTo(@TempDir Path dir) throws Exception {
    Path conf = dir.resolve("nixconf");
    Files.createDirectories(conf);
    Files.writeString(conf.resolve("nix.conf"), "experimental-features = nix-command\nbuild-users-group =\nsandbox = false\n"
        + "substituters =\nnarinfo-cache-negative-ttl = 0\nnarinfo-cache-positive-ttl = 0\n");
    Path netrc = dir.resolve("netrc");
    Files.writeString(netrc, "machine 127.0.0.1 login nix password " + Files.readString(up.dataDir.resolve("cache-token")).trim() + "\n");
    String cacheUrl = "http://127.0.0.1:" + up.cachePort;
    String n = TestNames.unique("pctl-up");
    Run built = nixRun(conf, dir, "nix", "build", "--no-link", "--json", "--impure", "--expr",
        "derivation { name = \"" + n + "\"; system = \"x86_64-linux\"; builder = \"/bin/sh\"; args = [\"-c\" \"echo " + n + " > $out\"]; }");
    assertThat(built.code()).as(built.err()).isZero();
    String path = built.out().replaceAll("(?s).*\"out\":\"([^\"]+)\".*", "$1");

    Run push = nixRun(conf, dir, "nix", "copy", "--to", cacheUrl, "--option", "netrc-file", netrc.toString(), path);
    assertThat(push.code()).as(push.err()).isZero();
    Run verify = nixRun(conf, dir, "nix", "store", "verify", "--store", cacheUrl, "--option", "netrc-file", netrc.toString(),
        "--trusted-public-keys", Files.readString(up.dataDir.resolve("cache-key.pub")).trim(), path);
    assertThat(verify.code()).as(verify.err()).isZero();
  }

  private static Run nixRun(Path conf, Path dir, String... cmd) throws Exception {
    return NixCli.run(conf, dir, Duration.ofSeconds(120), cmd);
  }


  @Test
  void kubectlWorksUnchanged() throws Exception {
    Run apply = kubectl("apply", "-n", "kubectl-test", "-f", EXAMPLES.toString());
    assertThat(apply.code()).as(apply.err()).isZero();
    assertThat(apply.out()).contains("vm.procurator.dev/web created");

    Run table = kubectl("get", "vms", "-n", "kubectl-test");
    assertThat(table.code()).as(table.err()).isZero();
    assertThat(table.out()).contains("NAME", "MEMORY", "AGE", "web", "128Mi");

    Run json = kubectl("get", "vm", "web", "-n", "kubectl-test", "-o", "json");
    JsonNode vm = new ObjectMapper().readTree(json.out());
    assertThat(vm.at("/spec/hypervisor").asText()).isEqualTo("qemu");

    Run wide = kubectl("get", "vms", "-A", "-o", "wide");
    assertThat(wide.out()).contains("HYPERVISOR", "kubectl-test");

    Run label = kubectl("get", "vms", "-n", "kubectl-test", "-l", "app=web", "-o", "name");
    assertThat(label.out().trim()).isEqualTo("vm.procurator.dev/web");

    Run again = kubectl("apply", "-n", "kubectl-test", "-f", EXAMPLES.resolve("vm-web.yaml").toString());
    assertThat(again.out()).contains("unchanged");

    Run bad = kubectl("patch", "vm", "web", "-n", "kubectl-test", "--type=merge", "-p", "{\"spec\":{\"cpu\":0}}");
    assertThat(bad.code()).isNotZero();
    assertThat(bad.err()).contains("spec.cpu");

    Run delete = kubectl("delete", "vm", "web", "-n", "kubectl-test");
    assertThat(delete.code()).as(delete.err()).isZero();
    assertThat(kubectl("get", "vm", "web", "-n", "kubectl-test").code()).isNotZero();
  }

  @Test
  void kubectlCreatesANamespaceWithItsProtobufBody() throws Exception {
    Run create = kubectl("create", "namespace", "proto-test", "--dry-run=none");
    assertThat(create.code()).as(create.err()).isZero();
    assertThat(create.out()).contains("namespace/proto-test created");
    Run labelled = kubectl("create", "namespace", "proto-test-2", "-o", "json");
    assertThat(labelled.code()).as(labelled.err()).isZero();
    Run get = kubectl("get", "namespace", "proto-test", "-o", "jsonpath={.metadata.name}");
    assertThat(get.out()).isEqualTo("proto-test");
    Run again = kubectl("create", "namespace", "proto-test");
    assertThat(again.code()).isNotZero();
    assertThat(again.err()).contains("AlreadyExists");
  }

  @Test
  void kubectlGetCrdListsTheServedKindsReadOnly() throws Exception {
    Run list = kubectl("get", "crd");
    assertThat(list.code()).as(list.err()).isZero();
    assertThat(list.out()).contains("NAME", "CREATED AT", "vms.procurator.dev", "gitrepositories.procurator.dev", "clusters.procurator.dev");
    Run one = kubectl("get", "crd", "vms.procurator.dev", "-o", "jsonpath={.spec.names.kind} {.spec.scope}");
    assertThat(one.out()).isEqualTo("VM Namespaced");
    Run delete = kubectl("delete", "crd", "vms.procurator.dev");
    assertThat(delete.code()).isNotZero();
    assertThat(delete.err()).contains("read-only");
  }

  @Test
  void getPrintsJsonPathTemplatesAndCustomColumns() {
    assertThat(pctl("apply", "-n", "output-test", "-f", EXAMPLES.resolve("vm-web.yaml").toString()).code()).isZero();
    assertThat(pctl("apply", "-n", "output-test", "-f", EXAMPLES.resolve("vm-hello.yaml").toString()).code()).isZero();

    Run one = pctl("get", "vm", "web", "-n", "output-test", "-o", "jsonpath={.spec.cpu} {.spec.memory}");
    assertThat(one.code()).as(one.err()).isZero();
    assertThat(one.out()).isEqualTo("1 128Mi");

    Run range = pctl("get", "vms", "-n", "output-test", "-o", "jsonpath={range .items[*]}{.metadata.name}:{.spec.cpu}{\"\\n\"}{end}");
    assertThat(range.out()).isEqualTo("hello:1\nweb:1\n");

    Run columns = pctl("get", "vms", "-n", "output-test", "-o", "custom-columns=NAME:.metadata.name,APP:.metadata.labels.app,NODE:.spec.nodeName");
    assertThat(columns.out().lines().toList()).containsExactly("NAME    APP     NODE", "hello   hello   <none>", "web     web     <none>");

    Run names = pctl("apply", "-n", "output-test", "-f", EXAMPLES.resolve("vm-web.yaml").toString(), "-o", "name");
    assertThat(names.out().trim()).isEqualTo("vm/web");
    assertThat(pctl("get", "vms", "-n", "output-test", "-o", "name").out().lines().toList()).containsExactly("vm/hello", "vm/web");
    Run deleted = pctl("delete", "vm", "hello", "-n", "output-test", "-o", "name");
    assertThat(deleted.out().trim()).isEqualTo("vm/hello");

    Run bad = pctl("get", "vms", "-n", "output-test", "-o", "jsonpath={.spec");
    assertThat(bad.code()).isEqualTo(1);
    assertThat(bad.err()).contains("unclosed {");
  }

  @Test
  void labelKeysWithDotsAreSelectedAsKubectlSelectsThem(@TempDir Path dir) throws Exception {
    Path file = dir.resolve("vm.yaml");
    Files.writeString(file, """
        apiVersion: procurator.dev/v1alpha1
        kind: VM
        metadata: {name: dotted, labels: {procurator.dev/revision: abc123, app.kubernetes.io/name: web}}
        spec: {cpu: 1, memory: 128Mi, boot: {kernel: k}}
        """);
    assertThat(pctl("apply", "-n", "dots-test", "-f", file.toString()).code()).isZero();
    List<List<String>> cases = List.of(
        List.of("get", "vm", "dotted", "-n", "dots-test", "-o", "jsonpath={.metadata.labels.procurator\\.dev/revision}"),
        List.of("get", "vms", "-n", "dots-test", "-o",
            "jsonpath={range .items[*]}{.metadata.name}={.metadata.labels.app\\.kubernetes\\.io/name}{\"\\n\"}{end}"),
        List.of("get", "vms", "-n", "dots-test", "-o", "custom-columns=NAME:.metadata.name,REV:.metadata.labels.procurator\\.dev/revision"),
        List.of("get", "vm", "dotted", "-n", "dots-test", "-o", "custom-columns=APP:.metadata.labels.app\\.kubernetes\\.io/name"));
    for (List<String> args : cases) {
      Run mine = pctl(args.toArray(String[]::new));
      Run theirs = kubectl(args.toArray(String[]::new));
      assertThat(theirs.code()).as(theirs.err()).isZero();
      assertThat(mine.code()).as(mine.err()).isZero();
      assertThat(mine.out()).as(String.join(" ", args)).isEqualTo(theirs.out()).containsAnyOf("abc123", "web");
      assertThat(mine.err()).isEmpty();
    }
  }

  @Test
  void waitReturnsWhenTheConditionHoldsAndFailsAtItsTimeout() throws Exception {
    assertThat(pctl("apply", "-n", "wait-test", "-f", EXAMPLES.resolve("vm-web.yaml").toString()).code()).isZero();
    Run timedOut = pctl("wait", "--for=condition=Healthy", "vm/web", "-n", "wait-test", "--timeout=2s");
    assertThat(timedOut.code()).isEqualTo(1);
    assertThat(timedOut.err()).contains("timed out waiting for the condition Healthy=True on vms/web");

    // the condition arrives while pctl waits, as the node agent would write it
    var waiting = java.util.concurrent.CompletableFuture.supplyAsync(
        () -> pctl("wait", "--for=condition=Healthy", "vm/web", "-n", "wait-test", "--timeout=60s"));
    try (var client = KubeClients.fromKubeconfig(up.kubeconfig())) {
      var vms = client.resources(dev.procurator.api.v1alpha1.VM.class).inNamespace("wait-test");
      org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> {
        var vm = vms.withName("web").get();
        vm.setStatus(new dev.procurator.api.v1alpha1.VMStatus(dev.procurator.api.v1alpha1.VMPhase.RUNNING, null, null,
            java.util.List.of(dev.procurator.api.runtime.Conditions.of("Healthy", "True", "Passing", "probes pass", java.time.Instant.now())),
            null, null, null));
        vms.resource(vm).updateStatus();
      });
    }
    Run met = waiting.get(60, java.util.concurrent.TimeUnit.SECONDS);
    assertThat(met.code()).as(met.err()).isZero();
    assertThat(met.out()).contains("vms/web condition met");
  }
}
