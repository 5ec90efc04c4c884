package dev.procurator.pctl;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.procurator.nodeagent.testing.Guest;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The README's tour, run as written: every command line of its shell blocks in "A five-minute
 * tour" and "Clusters and rollouts", through {@code bin/pctl}, {@code kubectl} and {@code curl},
 * against {@code pctl up} with a node agent. Each must succeed (or fail as the README shows it
 * failing), and each pctl command that succeeds prints nothing on stderr. Only the server's own
 * data directory and port differ from the README's {@code /tmp/p} and 7443.
 */
class ReadmeTourIT {
  /** The sections whose shell blocks are the tour, each up to the heading that ends it. */
  static final List<List<String>> SECTIONS = List.of(
      List.of("## A five-minute tour", "### The binary cache"),
      List.of("### Clusters and rollouts", "### Garbage collection"));

  /** What a following command must have printed before the tour goes on (a user reads it, then presses Ctrl-C). */
  static final List<Map.Entry<Pattern, Pattern>> FOLLOWED_UNTIL = List.of(
      Map.entry(Pattern.compile("bin/pctl logs vm/hello -f"), Pattern.compile("PROCURATOR-READY")),
      Map.entry(Pattern.compile("get vms -w"), Pattern.compile("(?m)^(hello|web)\\s.*Running")));

  @TempDir Path tmp;

  /** One command line of the README, and the error text the README shows under it, if it shows one. */
  record Step(String line, String expectedError) {}

  /** The tour's command lines, in order; {@code export} lines and the server's own start are left to the test. */
  static List<Step> steps(String readme) {
    return steps(readme, SECTIONS);
  }

  /** The command lines of {@code sections}' shell blocks, in order; a line ending in a backslash goes on on the next. */
  static List<Step> steps(String readme, List<List<String>> sections) {
    List<Step> steps = new ArrayList<>();
    String pending = "";
    for (List<String> section : sections) {
      int from = readme.indexOf("\n" + section.get(0) + "\n");
      int to = readme.indexOf("\n" + section.get(1) + "\n", from);
      assertThat(from).as("README has the section " + section.get(0)).isPositive();
      assertThat(to).as("README has the section " + section.get(1)).isGreaterThan(from);
      boolean inShell = false;
      for (String raw : readme.substring(from, to).split("\n")) {
        if (raw.startsWith("```")) {
          inShell = !inShell && raw.equals("```sh");
          continue;
        }
        String line = raw.strip();
        if (!inShell || line.isEmpty()) {
          continue;
        }
        if (line.endsWith("\\")) {
          pending += line.substring(0, line.length() - 1).strip() + " ";
          continue;
        }
        line = pending + line;
        pending = "";
        if (line.startsWith("#")) {
          // an indented comment under a command is the error it prints
          if (raw.startsWith("#   ") && !steps.isEmpty() && steps.getLast().expectedError() == null) {
            steps.set(steps.size() - 1, new Step(steps.getLast().line(), line.substring(1).strip()));
          }
          continue;
        }
        steps.add(new Step(withoutComment(line), null));
      }
    }
    return steps;
  }

  /** The line without a trailing {@code # comment} outside quotes. */
  static String withoutComment(String line) {
    char quote = 0;
    for (int i = 0; i < line.length(); i++) {
      char c = line.charAt(i);
      if (quote != 0) {
        if (c == quote) {
          quote = 0;
        }
      } else if (c == '\'' || c == '"') {
        quote = c;
      } else if (c == '#' && i > 0 && Character.isWhitespace(line.charAt(i - 1))) {
        return line.substring(0, i).strip();
      }
    }
    return line.strip();
  }

  /** What the JVM itself says on stderr when JAVA_TOOL_OPTIONS is set; not pctl's output. */
  static String pctlStderr(String stderr) {
    return stderr.lines().filter(l -> !l.startsWith("Picked up JAVA_TOOL_OPTIONS") && !l.startsWith("Picked up JDK_JAVA_OPTIONS"))
        .reduce("", (a, b) -> a + b + "\n");
  }

  private static ProcessBuilder shell(PctlUp up, String line, Path out, Path err) {
    ProcessBuilder pb = new ProcessBuilder("bash", "-c", "set -o pipefail\n" + line).directory(Guest.repoRoot().toFile())
        .redirectOutput(out.toFile()).redirectError(err.toFile()).redirectInput(ProcessBuilder.Redirect.from(Path.of("/dev/null").toFile()));
    pb.environment().put("KUBECONFIG", up.kubeconfig().toString());
    pb.environment().put("PROCURATOR_PREBUILT", "1");
    return pb;
  }

  @Test
  @Timeout(value = 10, unit = TimeUnit.MINUTES) // the tour's own waits allow minutes on a busy machine
  void everyTourCommandWorksAsWrittenAndPctlPrintsNothingOnStderr() throws Exception {
    String readme = Files.readString(Guest.repoRoot().resolve("README.md"));
    List<Step> steps = steps(readme);
    assertThat(steps).as("the tour's commands").hasSizeGreaterThan(25)
        .anySatisfy(s -> assertThat(s.line()).startsWith("bin/pctl rollout undo"));
    Path images = Guest.images();
    List<Process> following = new ArrayList<>();
    try (PctlUp up = PctlUp.systemOffLoopback("--images-dir", images.toString())) {
      run(up, tmp, steps, Map.of("/tmp/p/", up.dataDir + "/"), FOLLOWED_UNTIL, List.of(), following);
    } finally {
      stop(following, tmp);
    }
  }

  /**
   * Runs {@code steps} against {@code up}, each in bash from the repository's root, with {@code
   * replacements} made in its text (the server's own data directory and ports). A step that {@code
   * followedUntil} names runs until it printed what the entry says, then gets Ctrl-C, as a user
   * reading it would; one that {@code background} names runs on beside the later steps, as in a
   * terminal of its own, once it printed that. Both join {@code following}.
   */
  static void run(PctlUp up, Path tmp, List<Step> steps, Map<String, String> replacements, List<Map.Entry<Pattern, Pattern>> followedUntil,
      List<Map.Entry<Pattern, Pattern>> background, List<Process> following) throws Exception {
    int n = 0;
    for (Step step : steps) {
      if (step.line().startsWith("bin/pctl up")) {
        continue; // the test's own server, on a free port in a temp dir
      }
      if (step.line().startsWith("export KUBECONFIG=")) {
        assertThat(step.line()).isEqualTo("export KUBECONFIG=/tmp/p/kubeconfig");
        continue;
      }
      String line = step.line();
      for (Map.Entry<String, String> r : replacements.entrySet()) {
        line = line.replace(r.getKey(), r.getValue());
      }
      n++;
      Path out = tmp.resolve(n + ".out");
      Path err = tmp.resolve(n + ".err");
      String said = "step " + n + ": " + step.line();
      String command = line;
      Pattern until = followedUntil.stream().filter(e -> e.getKey().matcher(command).find()).map(Map.Entry::getValue).findFirst().orElse(null);
      Pattern up2 = background.stream().filter(e -> e.getKey().matcher(command).find()).map(Map.Entry::getValue).findFirst().orElse(null);
      long began = System.nanoTime();
      Process p = shell(up, line, out, err).start();
      if (until != null || up2 != null) {
        Pattern seen = until != null ? until : up2;
        following.add(p);
        await(said).atMost(Duration.ofMinutes(3)).pollInterval(Duration.ofMillis(200))
            .until(() -> seen.matcher(Files.readString(out)).find() || !p.isAlive());
        assertThat(p.isAlive()).as(said + " is still running\n" + Files.readString(out) + Files.readString(err)).isTrue();
        if (until != null) {
          p.descendants().forEach(ProcessHandle::destroy); // Ctrl-C reaches the command, not only its shell
          p.destroy();
          p.waitFor(20, TimeUnit.SECONDS);
          assertThat(pctlStderr(Files.readString(err))).as(said + " stderr").isEmpty();
        }
        continue;
      }
      if (!p.waitFor(6, TimeUnit.MINUTES)) {
        p.destroyForcibly();
        throw new AssertionError(said + " did not finish in 6 minutes: " + Files.readString(out) + Files.readString(err));
      }
      String stdout = Files.readString(out);
      String stderr = Files.readString(err);
      System.out.printf(Locale.ROOT, "step %d took %d ms: %s%n", n, (System.nanoTime() - began) / 1_000_000, step.line());
      if (step.expectedError() != null) {
        assertThat(p.exitValue()).as(said + " fails as the README shows").isNotZero();
        assertThat(stderr).as(said).contains(step.expectedError());
        continue;
      }
      assertThat(p.exitValue()).as(said + "\n" + stdout + stderr).isZero();
      if (line.startsWith("bin/pctl") || line.contains("| bin/pctl")) {
        assertThat(pctlStderr(stderr)).as(said + " prints nothing on stderr").isEmpty();
      }
    }
  }

  /** Stops what still runs, and prints what each step printed, for a failure's report. */
  static void stop(List<Process> following, Path tmp) throws IOException, InterruptedException {
    for (Process p : following) {
      p.descendants().forEach(ProcessHandle::destroy);
      p.destroy();
      if (!p.waitFor(20, TimeUnit.SECONDS)) {
        p.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
      }
    }
    try (var outs = Files.list(tmp)) {
      for (Path f : outs.sorted().toList()) {
        System.out.println("---- " + f.getFileName() + "\n" + readQuietly(f));
      }
    }
  }

  private static String readQuietly(Path f) {
    try {
      return Files.readString(f, StandardCharsets.UTF_8);
    } catch (IOException e) {
      return e.toString();
    }
  }
}
