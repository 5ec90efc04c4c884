package dev.procurator.pctl;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.procurator.nodeagent.testing.Guest;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A VM in a crash loop is started again with a backoff that doubles with each failure in a row, and
 * keeps it across a kill -9 of its node agent: the new agent reads the loop's state from the VM's
 * status and waits out the backoff the old one set, instead of booting the VM again at once; and the
 * count of failures in a row goes on from where it was. Checked on what the agents recorded (the
 * times of their Started and BackOff Events, the status's restartAt), not by watching for a moment.
 */
class CrashLoopIT {
  static final ObjectMapper JSON = new ObjectMapper();
  static final Pattern BACK_OFF = Pattern.compile("back-off ([0-9.]+) s restarting the failed VM \\((\\d+) failures?.*");
  @TempDir Path tmp;

  /** An Event about the VM: when it was recorded, why, and what it said. */
  record Recorded(Instant at, String reason, String note) {}

  private static Process agent(PctlUp up, Path dataDir, Path images, Path out) throws IOException {
    List<String> cmd = new ArrayList<>(List.of(PctlUp.java(), "--enable-native-access=ALL-UNNAMED", "-jar", PctlUp.jar().toString(),
        "--kubeconfig", up.kubeconfig().toString(), "agent", "--name", "crashy", "--data-dir", dataDir.toString(),
        "--images-dir", images.toString()));
    return new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.appendTo(out.toFile())).start();
  }

  private static JsonNode status(PctlUp up) throws Exception {
    return JSON.readTree(up.request("GET", "/apis/procurator.dev/v1alpha1/namespaces/default/vms/panics", null).body()).path("status");
  }

  private static List<Recorded> events(PctlUp up) throws Exception {
    List<Recorded> out = new ArrayList<>();
    for (JsonNode e : JSON.readTree(up.request("GET", "/apis/events.k8s.io/v1/namespaces/default/events", null).body()).path("items")) {
      if (e.path("regarding").path("name").asText().equals("panics")) {
        out.add(new Recorded(Instant.parse(e.path("eventTime").asText()), e.path("reason").asText(), e.path("note").asText()));
      }
    }
    out.sort(Comparator.comparing(Recorded::at));
    return out;
  }

  @Test
  void aCrashingVmIsRestartedWithADoublingBackoffThatAKill9OfTheAgentKeeps() throws Exception {
    Path images = Guest.images();
    Path agentDir = tmp.resolve("agent");
    Path out = tmp.resolve("agent.out");
    Process first = null;
    Process second = null;
    try (PctlUp up = PctlUp.start()) {
      first = agent(up, agentDir, images, out);
      // a kernel that finds no init panics at once, and QEMU (-no-reboot) exits: a crash every boot
      String vm = """
          {"apiVersion":"procurator.dev/v1alpha1","kind":"VM","metadata":{"name":"panics"},
           "spec":{"nodeName":"crashy","cpu":1,"memory":"128Mi","restartPolicy":"Always",
                   "boot":{"kernel":"hello/vmlinux","initrd":"hello/initrd.cpio.gz","cmdline":"console=ttyS0 rdinit=/none panic=-1"}}}""";
      assertThat(up.request("POST", "/apis/procurator.dev/v1alpha1/namespaces/default/vms", vm).statusCode()).isEqualTo(201);

      // Given the VM has failed five times in a row (a 16 s backoff) and its next start is 12 s or more away, so
      // that an agent that ignored the backoff would start it long before then (a new agent is up and starts the
      // VM in about 6 s here); a wait seen later is let pass for the next, twice as long. Its BackOff Event is
      // written before the agent is killed
      JsonNode[] seen = new JsonNode[1];
      await().atMost(Duration.ofSeconds(180)).until(() -> {
        JsonNode s = status(up);
        seen[0] = s;
        return s.path("backoff").path("failures").asInt() >= 5 && s.path("phase").asText().equals("Failed")
            && !s.path("backoff").path("restartAt").asText().isEmpty()
            && Instant.parse(s.path("backoff").path("restartAt").asText()).isAfter(Instant.now().plusSeconds(12));
      });
      JsonNode looping = seen[0];
      int failures = looping.path("backoff").path("failures").asInt();
      int restarts = looping.path("restartCount").asInt();
      Instant restartAt = Instant.parse(looping.path("backoff").path("restartAt").asText());
      assertThat(looping.path("message").asText()).contains("the hypervisor exited without the guest powering off", "restarting in");
      await().atMost(Duration.ofSeconds(30)).until(() -> events(up).stream()
          .anyMatch(e -> e.reason().equals("BackOff") && e.note().contains("(" + failures + " failures in a row)")));

      // When the agent is killed with -9 and a new one starts at once
      first.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
      Instant killed = Instant.now();
      second = agent(up, agentDir, images, out);

      // and the new agent has started the VM again, and it has crashed again
      String nextBackOff = "back-off " + (1L << failures) + ".0 s restarting the failed VM (" + (failures + 1) + " failures in a row)";
      await().atMost(Duration.ofSeconds(120)).until(() -> status(up).path("restartCount").asInt() > restarts
          && events(up).stream().anyMatch(e -> e.reason().equals("BackOff") && e.note().startsWith(nextBackOff)));
      assertThat(Files.readString(out)).contains("Node agent crashy is up");
      List<Recorded> events = events(up);
      List<Instant> started = events.stream().filter(e -> e.reason().equals("Started")).map(Recorded::at).toList();
      String all = events.stream().map(e -> e.at() + " " + e.reason() + ": " + e.note()).collect(Collectors.joining("\n"));

      // Then the new agent did not start the VM before the backoff the old one set had passed
      Instant firstAfterKill = started.stream().filter(t -> t.isAfter(killed)).findFirst().orElseThrow();
      assertThat(firstAfterKill).as("the new agent's first start of the VM, against the old agent's restartAt %s:%n%s", restartAt, all)
          .isAfterOrEqualTo(restartAt);
      // and each start came at least the announced backoff after the one before: 1, 2, 4, 8, 16 s, and on
      List<Duration> announced = new ArrayList<>();
      int checked = 0;
      for (int i = 1; i < started.size(); i++) {
        Instant from = started.get(i - 1);
        Instant to = started.get(i);
        List<Recorded> between = events.stream().filter(e -> e.reason().equals("BackOff") && e.at().isAfter(from) && e.at().isBefore(to)).toList();
        assertThat(between).as("BackOff Events between the starts at %s and %s:%n%s", from, to, all).hasSize(1);
        Matcher m = BACK_OFF.matcher(between.getFirst().note());
        assertThat(m.matches()).as(between.getFirst().note()).isTrue();
        Duration delay = Duration.ofMillis(Math.round(Double.parseDouble(m.group(1)) * 1000));
        assertThat(Integer.parseInt(m.group(2))).as("failures in a row before the start at %s:%n%s", to, all).isEqualTo(i);
        assertThat(Duration.between(from, to)).as("time between the starts at %s and %s:%n%s", from, to, all).isGreaterThanOrEqualTo(delay);
        announced.add(delay);
        checked++;
      }
      assertThat(checked).as("restarts checked").isGreaterThanOrEqualTo(failures);
      assertThat(announced.subList(0, failures)).as("the backoff doubles with each failure in a row")
          .containsExactly(IntStream.range(0, failures).mapToObj(n -> Duration.ofSeconds(1L << n)).toArray(Duration[]::new));
      // and after the kill, the count of failures in a row went on from where it was, and the backoff with it
      assertThat(events).as(all).anyMatch(e -> e.reason().equals("BackOff") && e.at().isAfter(firstAfterKill) && e.note().startsWith(nextBackOff));
    } finally {
      for (Process p : new Process[] {first, second}) {
        if (p != null) {
          p.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
        }
      }
      Guest.killMachines(agentDir);
    }
  }
}
